#!/usr/bin/env python3
"""Writes the real-segment seeds of tests/fuzz/corpus/segment/: the first sync
sections of fixture segments of commitlog versions 6, 7 and 8, uncompressed
and compressed, each under 64 KiB.

Sections are found from the format's facts (docs/format.md), not with cdctail:
a marker is `next` (4 bytes) and a CRC (4); an uncompressed section's body is
[marker+8, next), a compressed one has its uncompressed length (4) after the
marker. A seed is the header and whole sections up to MAX bytes (at least two
sections). Uncompressed seeds end as a pre-sized file does: an all-zero
marker, then zeros, whose last byte is the fuzz target's control byte (bits 2-3:
the messaging version of the seed's own version; tests/fuzz/fuzz_segment.c).

The ahead-* seeds are for read-ahead (control byte's high nibble 0xA): the last
kept section's marker is zeroed, as the open section of a live segment is,
a limit (two bytes before the control byte) at the first section's end and
a cut (three bytes before the limit) in the middle of the open section, so
the first pass meets the open section half written.

No fixture holds a compressed version-8 segment (5.0 writes version 8 only with
storage_compatibility_mode: NONE, and the fixture of that mode is uncompressed),
so v8-deflate re-frames the first sections of fixtures/5.0/seed-v8 (real
version-8 entries) into Deflate sections as CompressedSegment writes them: marker
with its CRC, uncompressed length, a zlib stream of the section's bytes.

Run from the repository root: tests/fuzz/make-segment-seeds.py
"""
import glob
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
import seglayout  # noqa: E402
from seglayout import crc_ints  # noqa: E402

MAX = 12 * 1024
OUT = 'tests/fuzz/corpus/segment'
CTL_VERSION = {6: 0 << 2, 7: 2 << 2, 8: 3 << 2}  # messaging 10, 12, 13


def sections(data):
    """(version, id, header_len, compressed, [(marker, next)])"""
    version, sid, hl, compressed, out = seglayout.sections(data)
    return version, sid, hl, compressed, [(m, nxt) for m, nxt, _ in out]


def cut(path):
    data = open(path, 'rb').read()
    version, _, hl, compressed, secs = sections(data)
    keep = [s for i, s in enumerate(secs) if i < 2 or s[1] <= MAX]
    end = keep[-1][1]
    seed = data[:end]
    if not compressed:
        seed += bytes(15) + bytes([CTL_VERSION[version]])
    assert len(seed) < 64 * 1024, (path, len(seed))
    return seed, len(keep)


def rewrap_deflate(path):
    data = open(path, 'rb').read()
    version, sid, hl, compressed, secs = sections(data)
    assert not compressed
    params = b'{"compressionClass":"DeflateCompressor","compressionParameters":null}'
    head = struct.pack('>iqH', version, sid, len(params)) + params
    hcrc = zlib.crc32(params, crc_ints(version, sid, sid >> 32, len(params)))
    out = bytearray(head + struct.pack('>I', hcrc))
    n = 0
    for m, nxt in secs:
        body = data[m + 8:nxt]
        z = zlib.compress(body)
        pos = len(out)
        out += struct.pack('>II', pos + 12 + len(z), crc_ints(sid, sid >> 32, pos))
        out += struct.pack('>I', len(body)) + z
        n += 1
        if len(out) > MAX and n >= 2:
            break
    return bytes(out), n


def one(case):
    (path,) = glob.glob(f'fixtures/{case}/cdc_raw/CommitLog-*.log')
    return path


seeds = {
    'v6-none-3.11-seed': cut(one('3.11/seed')),
    'v6-lz4-3.11': cut(one('3.11/compress-lz4')),
    'v6-snappy-3.11': cut(one('3.11/compress-snappy')),
    'v6-deflate-3.11': cut(one('3.11/compress-deflate')),
    'v7-none-4.0-seed': cut(one('4.0/seed')),
    'v7-none-4.1-types': cut(one('4.1/types')),
    'v7-none-5.0-types': cut(one('5.0/types')),
    'v7-zstd-4.0': cut(one('4.0/compress-zstd')),
    'v7-lz4-4.1': cut(one('4.1/compress-lz4')),
    'v8-none-5.0-seed-v8': cut(one('5.0/seed-v8')),
    'v8-deflate-rewrapped-5.0-seed-v8': rewrap_deflate(one('5.0/seed-v8')),
}
def ahead(path):
    data = open(path, 'rb').read()
    version, _, hl, compressed, secs = sections(data)
    assert not compressed
    keep = [s for i, s in enumerate(secs) if i < 3 or s[1] <= MAX]
    end = keep[-1][1]
    seed = bytearray(data[:end])
    seed[keep[-1][0]:keep[-1][0] + 8] = bytes(8)  # the open section's marker
    limit = keep[0][1]
    cutat = (keep[-1][0] + end) // 2
    assert limit < 65536 and cutat < 1 << 24
    seed += bytes(10) + bytes([cutat & 255, (cutat >> 8) & 255, cutat >> 16])
    seed += bytes([limit & 255, limit >> 8, 0xA0 | CTL_VERSION[version] | 1])
    return bytes(seed), len(keep)


seeds['ahead-v7-4.1-types'] = ahead(one('4.1/types'))
seeds['ahead-v7-5.0-seed'] = ahead(one('5.0/seed'))
seeds['ahead-v8-5.0-seed-v8'] = ahead(one('5.0/seed-v8'))
for name, (seed, n) in seeds.items():
    open(f'{OUT}/{name}', 'wb').write(seed)
    print(f'{OUT}/{name}: {len(seed)} bytes, {n} sections')
