#!/usr/bin/env python3
"""frontier.py - watches a live commitlog segment in cdc_raw through a shared
read-only mapping, the way a reader ahead of the sync would, and reports what
the bytes after the last `_cdc.idx` offset look like while a real Cassandra
writes (docs/format.md: "Before and after a sync"). Written from the format's
facts (tests/e2e/seglayout.py), not from cdctail.

usage:
  frontier.py quiet --host ADDR --cdc-raw DIR --keyspace KS [--seconds 12]
      one small INSERT, acknowledged; then the segment is looked at every 2 ms:
      when its entry is complete in the file, when a sync marker covers it,
      when the _cdc.idx does. One JSON line.
  frontier.py write --host ADDR --keyspace KS [--seconds 10] [--threads 6]
      [--keys FILE]
      the race's client threads alone, with no watching: writes for --seconds,
      prints {"acknowledged": N} and writes each acknowledged (k, c) to FILE,
      one "k c" a line.
  frontier.py race --host ADDR --cdc-raw DIR --keyspace KS [--seconds 10]
      [--threads 6] [--snap DIR]
      client threads write small and large (up to 256 KiB) mutations while the
      frontier is looked at in a tight loop; counts the states the first
      not-yet-complete entry was met in, checks that every entry seen complete
      ahead of the sync is, byte for byte, the entry found later under a sync
      marker, and (--snap) keeps copies of the file taken while an entry was
      partly written. One JSON line.
"""
import argparse
import glob
import gzip
import json
import mmap
import multiprocessing
import os
import random
import struct
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seglayout import crc_ints  # noqa: E402


def active_segment(cdc_raw):
    """The newest segment with an entry after its first marker: Cassandra
    creates (and links into cdc_raw) the next segment before it is needed,
    so the newest file is usually still empty."""
    segs = sorted(glob.glob(os.path.join(cdc_raw, 'CommitLog-*.log')),
                  key=lambda p: int(p.rsplit('-', 1)[1][:-4]))
    for p in reversed(segs):
        with open(p, 'rb') as f:
            head = f.read(65536)
        if len(head) < 14:
            continue
        hl = 18 + struct.unpack_from('>H', head, 12)[0]
        if len(head) >= hl + 12 and (head[hl:hl + 8] != bytes(8) or head[hl + 8:hl + 12] != bytes(4)):
            return p
    return segs[-1] if segs else None


def read_idx(path):
    try:
        with open(path[:-4] + '_cdc.idx') as f:
            t = f.read()
        return int(t.split('\n')[0]) if t and t[0].isdigit() else None
    except (OSError, ValueError):
        return None


class Frontier:
    """One walk of the mapped segment: the sections whose marker CRC is good,
    then, from the first marker that is not (yet), the entries that are
    complete, up to the first that is not; the state that one was met in."""

    def __init__(self, m, sid, hl):
        self.m, self.sid, self.hl = m, sid, hl

    def walk(self, start_marker=None):
        m, sid = self.m, self.sid
        n = len(m)
        marker = start_marker or self.hl
        sections = []
        while marker + 8 <= n:
            nxt, crc = struct.unpack_from('>II', m, marker)
            if crc != crc_ints(sid, sid >> 32, marker) or nxt <= marker:
                break
            sections.append((marker, nxt))
            marker = nxt
        open_marker = marker
        ahead, state, pos = [], 'eof', open_marker + 8
        raw_marker = bytes(m[open_marker:open_marker + 8]) if open_marker + 8 <= n else b''
        while pos + 4 <= n:
            size = struct.unpack_from('>I', m, pos)[0]
            if size == 0:
                state = 'size-zero'
                break
            if pos + 8 > n:
                state = 'short'
                break
            scrc = struct.unpack_from('>I', m, pos + 4)[0]
            c = crc_ints(size)
            if scrc != c:
                state = 'size-crc-not-yet' if scrc == 0 else 'size-crc-bad'
                break
            if pos + 12 + size > n:
                state = 'past-eof'
                break
            body = bytes(m[pos + 8:pos + 8 + size])
            bcrc = struct.unpack_from('>I', m, pos + 8 + size)[0]
            if zlib.crc32(body, c) != bcrc:
                state = 'body-crc-not-yet' if bcrc == 0 else 'body-crc-bad'
                break
            ahead.append((pos, size, bcrc))
            pos += 12 + size
        return sections, open_marker, raw_marker, ahead, state, pos

    def entries_in(self, a, b):
        """Entries of the sealed section [a+8, b)."""
        out, pos, m = [], a + 8, self.m
        while pos + 8 <= b:
            size = struct.unpack_from('>I', m, pos)[0]
            if size == 0 or pos + 12 + size > b:
                break
            out.append((pos, size, struct.unpack_from('>I', m, pos + 8 + size)[0]))
            pos += 12 + size
        return out


def open_map(path):
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
    os.close(fd)
    version, sid, plen = struct.unpack_from('>iqH', m, 0)
    return m, sid, 18 + plen


def session(host, ks):
    from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
    from cassandra.policies import WhiteListRoundRobinPolicy
    prof = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([host]), request_timeout=60)
    c = Cluster([host], execution_profiles={EXEC_PROFILE_DEFAULT: prof})
    s = c.connect()
    s.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class':'SimpleStrategy','replication_factor':1}" % ks)
    s.execute("CREATE TABLE IF NOT EXISTS %s.t (k int, c int, v blob, PRIMARY KEY (k, c)) WITH cdc = true" % ks)
    return c, s


def quiet(a):
    c, s = session(a.host, a.keyspace)
    ins = s.prepare("INSERT INTO %s.t (k, c, v) VALUES (?, ?, ?)" % a.keyspace)
    time.sleep(1)
    path = active_segment(a.cdc_raw)
    m, sid, hl = open_map(path)
    f = Frontier(m, sid, hl)
    secs0, om0, _, ahead0, _, pos0 = f.walk()
    marker_bytes_before = bytes(m[om0:om0 + 8]).hex()
    payload = os.urandom(40)
    t0 = time.monotonic()
    s.execute(ins, (424242, 1, payload))
    t_ack = time.monotonic()
    want = None
    seen = marked = synced = None
    states = {}
    while time.monotonic() - t_ack < a.seconds and synced is None:
        secs, om, raw, ahead, state, pos = f.walk()
        if want is None:
            for (p, size, crc) in ahead:
                if p >= pos0 and payload in bytes(m[p + 8:p + 8 + size]):
                    want = (p, size, crc)
                    seen = time.monotonic() - t_ack
        if want is not None and marked is None and any(a_ < want[0] < b_ for a_, b_ in secs):
            marked = time.monotonic() - t_ack
            marker_after = bytes(m[om0:om0 + 8]).hex()
        if want is not None:
            idx = read_idx(path)
            if idx is not None and idx >= want[0] + 12 + want[1]:
                synced = time.monotonic() - t_ack
        states[state] = states.get(state, 0) + 1
        time.sleep(0.002)
    out = {'segment': os.path.basename(path), 'entry_offset': want and want[0],
           'write_ms': round((t_ack - t0) * 1000, 2),
           'complete_in_file_ms_after_ack': seen is not None and round(seen * 1000, 1),
           'under_sync_marker_ms': marked is not None and round(marked * 1000, 1),
           'under_idx_ms': synced is not None and round(synced * 1000, 1),
           'open_marker_bytes_before_write': marker_bytes_before,
           'open_marker_bytes_once_marked': marked is not None and marker_after,
           'frontier_states': states}
    print(json.dumps(out))
    c.shutdown()
    return 0 if seen is not None and synced is not None else 1


def writers(a, stop, written, keys=None):
    """Client threads in their own process (the walk is not slowed by them):
    15 % large mutations (--big-min..--big-max bytes), the rest 1..200 bytes,
    16 in flight per thread."""
    c, s = session(a.host, a.keyspace)
    ins = s.prepare("INSERT INTO %s.t (k, c, v) VALUES (?, ?, ?)" % a.keyspace)

    def writer(tid):
        rnd = random.Random(tid)
        futs, i = [], 0
        while not stop.is_set():
            big = rnd.random() < 0.15
            n = rnd.randint(a.big_min, a.big_max) if big else rnd.randint(1, 200)
            v = (b'%08d' % i) * (n // 8 + 1) if a.compressible else os.urandom(n)
            futs.append(s.execute_async(ins, (tid, i, v)))
            i += 1
            if len(futs) >= 16:
                for fu in futs:
                    fu.result()
                with written.get_lock():
                    written.value += len(futs)
                if keys is not None:
                    keys.extend((tid, i - len(futs) + j) for j in range(len(futs)))
                futs = []
        for fu in futs:
            fu.result()
        with written.get_lock():
            written.value += len(futs)
        if keys is not None:
            keys.extend((tid, i - len(futs) + j) for j in range(len(futs)))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.shutdown()


def write(a):
    """The writers for --seconds, in this process."""
    c, s = session(a.host, a.keyspace)
    c.shutdown()
    stop = threading.Event()
    written = multiprocessing.Value('q', 0)
    keys = []
    t = threading.Thread(target=writers, args=(a, stop, written, keys))
    t.start()
    time.sleep(a.seconds)
    stop.set()
    t.join()
    if a.keys:
        with open(a.keys, 'w') as f:
            for k, cc in keys:
                f.write('%d %d\n' % (k, cc))
    print(json.dumps({'acknowledged': written.value, 'keys': len(keys)}))
    return 0


def race(a):
    c, s = session(a.host, a.keyspace)
    c.shutdown()
    stop = multiprocessing.Event()
    written = multiprocessing.Value('q', 0)
    time.sleep(1)
    path = active_segment(a.cdc_raw)
    m, sid, hl = open_map(path)
    f = Frontier(m, sid, hl)
    proc = multiprocessing.Process(target=writers, args=(a, stop, written))
    proc.start()
    states, seen_ahead = {}, {}
    later_complete = 0
    walks = 0
    snaps = 0
    t_end = time.monotonic() + a.seconds
    start_marker = None
    while time.monotonic() < t_end:
        if a.snap:  # walk a copy: a partly written entry met is in the copy
            f = Frontier(m[:], sid, hl)
        secs, om, raw, ahead, state, pos = f.walk(start_marker)
        start_marker = om
        walks += 1
        states[state] = states.get(state, 0) + 1
        for e in ahead:
            seen_ahead.setdefault(e[0], e)
        if state in ('size-crc-not-yet', 'size-crc-bad', 'body-crc-not-yet', 'body-crc-bad') or state == 'size-zero':
            # is a later entry already complete while this one is not?
            fm = f.m
            if state.startswith('body'):
                size = struct.unpack_from('>I', fm, pos)[0]
                q = pos + 12 + size
                if q + 8 <= len(fm):
                    sz = struct.unpack_from('>I', fm, q)[0]
                    if sz and q + 12 + sz <= len(fm) and struct.unpack_from('>I', fm, q + 4)[0] == crc_ints(sz):
                        c2 = zlib.crc32(bytes(fm[q + 8:q + 8 + sz]), crc_ints(sz))
                        if c2 == struct.unpack_from('>I', fm, q + 8 + sz)[0]:
                            later_complete += 1
            if a.snap and state.startswith(('size-crc', 'body-crc')) and snaps < 6:
                data, st2, pos2 = f.m, state, pos
                os.makedirs(a.snap, exist_ok=True)
                name = '%s.snap%d.gz' % (os.path.basename(path), snaps)
                with gzip.open(os.path.join(a.snap, name), 'wb') as o:
                    o.write(data)
                with open(os.path.join(a.snap, 'snapshots.jsonl'), 'a') as o:
                    o.write(json.dumps({'file': name, 'segment': os.path.basename(path),
                                        'state': st2, 'pending_offset': pos2,
                                        'idx_at_copy': read_idx(path)}) + '\n')
                snaps += 1
        if active_segment(a.cdc_raw) != path:
            break  # the segment filled up: stop here
    stop.set()
    proc.join()
    # wait for the sync to seal all of it, then compare
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        idx = read_idx(path)
        if idx is not None and idx >= max([p + 12 + sz for p, sz, _ in seen_ahead.values()] or [0]):
            break
        time.sleep(0.2)
    f = Frontier(m, sid, hl)
    secs = f.walk()[0]
    idx = read_idx(path) or 0
    sealed = {}
    for a_, b_ in secs:
        if b_ <= idx:
            for e in f.entries_in(a_, b_):
                sealed[e[0]] = e
    mismatched = [p for p, e in seen_ahead.items() if sealed.get(p) != e]
    if a.snap and snaps:
        # the same segment once Cassandra synced it: the judge of the copies
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with open(path[:-4] + '_cdc.idx') as f:
                    if 'COMPLETED' in f.read():
                        break
            except OSError:
                pass
            time.sleep(0.2)
        with open(path, 'rb') as f, gzip.open(os.path.join(a.snap, os.path.basename(path) + '.final.gz'), 'wb') as o:
            o.write(f.read())
        with open(path[:-4] + '_cdc.idx') as f, open(os.path.join(a.snap, os.path.basename(path)[:-4] + '_cdc.idx'), 'w') as o:
            o.write(f.read())
    out = {'segment': os.path.basename(path), 'threads': a.threads, 'seconds': a.seconds,
           'writes_acknowledged': written.value, 'walks': walks, 'frontier_states': states,
           'later_entry_complete_before_earlier': later_complete,
           'entries_seen_ahead': len(seen_ahead), 'entries_sealed_later': len(sealed),
           'seen_ahead_not_matching_sealed': len(mismatched), 'idx': idx, 'snapshots': snaps}
    print(json.dumps(out))
    return 0 if not mismatched else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['quiet', 'race', 'write'])
    ap.add_argument('--host', required=True)
    ap.add_argument('--cdc-raw')
    ap.add_argument('--keys')
    ap.add_argument('--keyspace', default='fr')
    ap.add_argument('--seconds', type=float, default=12)
    ap.add_argument('--threads', type=int, default=6)
    ap.add_argument('--snap')
    ap.add_argument('--big-min', type=int, default=16 << 10)
    ap.add_argument('--big-max', type=int, default=256 << 10)
    ap.add_argument('--compressible', action='store_true', help='values repeat an 8-byte counter')
    a = ap.parse_args()
    return {'quiet': quiet, 'race': race, 'write': write}[a.mode](a)


if __name__ == '__main__':
    sys.exit(main())
