#!/usr/bin/env python3
"""Writes a large benchmark set of commitlog segments made of real entries:
the bodies of every entry a real Cassandra wrote in the given fixture cases
(read with `cdctail dump --hex`), re-framed into new uncompressed segments
with valid descriptors, sync markers and CRCs, in the layout Cassandra's
CommitLogSegment writes (version 7). Both cdctail and Cassandra's own reader
read them.

usage: mkbig.py CDCTAIL OUTDIR TOTAL_MIB CASE_DIR..."""
import json, os, struct, subprocess, sys, zlib

def crc_ints(*vals):
    c = 0
    for v in vals:
        c = zlib.crc32(struct.pack('>I', v & 0xffffffff), c)
    return c

def main():
    cdctail, out, total_mib, cases = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    bodies = []
    for case in cases:
        ids = set()
        for t in json.load(open(os.path.join(case, 'schema.json')))['tables']:
            if t['cdc']:
                ids.add(t['id'])
        segs = sorted(os.path.join(case, 'cdc_raw', f) for f in os.listdir(os.path.join(case, 'cdc_raw')) if f.endswith('.log'))
        p = subprocess.run([cdctail, 'dump', '--hex'] + segs, capture_output=True, text=True)
        keep = False
        for line in p.stdout.splitlines():
            line = line.strip()
            if line.startswith('entry '):
                keep = any(('table=' + i) in line for i in ids)
            elif line.startswith('body=') and keep:
                bodies.append(bytes.fromhex(line[5:]))
    os.makedirs(out, exist_ok=True)
    seg_size = 32 << 20
    total = total_mib << 20
    written, seg_id, i = 0, 1700000000000, 0
    while written < total:
        seg_id += 1
        buf = bytearray()
        params = b'{}'
        hdr = struct.pack('>iqH', 7, seg_id, len(params)) + params
        # header CRC: version, id low, id high, params length, then params bytes
        c = crc_ints(7, seg_id & 0xffffffff, (seg_id >> 32) & 0xffffffff, len(params))
        buf += hdr + struct.pack('>I', zlib.crc32(params, c))
        while True:
            marker = len(buf)
            sec = bytearray()
            while len(sec) < 64 * 1024:
                b = bodies[i % len(bodies)]; i += 1
                cs = zlib.crc32(struct.pack('>I', len(b)))
                sec += struct.pack('>II', len(b), cs) + b + struct.pack('>I', zlib.crc32(b, cs))
            if marker + 8 + len(sec) + 8 > seg_size:
                break
            nxt = marker + 8 + len(sec)
            buf += struct.pack('>II', nxt, crc_ints(seg_id & 0xffffffff, (seg_id >> 32) & 0xffffffff, marker)) + sec
        buf += b'\0' * (seg_size - len(buf))
        with open(os.path.join(out, f'CommitLog-7-{seg_id}.log'), 'wb') as f:
            f.write(buf)
        written += len(buf)
    print(f'{written >> 20} MiB in {(written + seg_size - 1) // seg_size} segments, {i} entries from {len(bodies)} real bodies')

if __name__ == '__main__':
    main()
