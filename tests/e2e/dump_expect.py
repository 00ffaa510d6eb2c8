#!/usr/bin/env python3
"""dump_expect.py SEGMENT OUTDIR: writes corrupted copies of SEGMENT into
OUTDIR/<kind>/<same name> and prints, for each, the lines `cdctail dump` must
print for the corrupted item, from the format's facts (docs/format.md) with
CRCs computed here by zlib, never from cdctail:

  KIND<TAB>EXPECTED LINE PREFIX  (one or more lines, in order)

kinds: body (a body byte of a middle entry of a middle section flipped),
size (a byte of that entry's size flipped), marker (a CRC byte of a middle
section's sync marker flipped). Entries of uncompressed segments only for
body and size; marker for both."""
import os
import struct
import sys
import zlib

from seglayout import crc_ints, sections




src, outdir = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
base = os.path.basename(src)
version, sid, hl, compressed, secs = sections(data)


def write(kind, d):
    os.makedirs(f'{outdir}/{kind}', exist_ok=True)
    open(f'{outdir}/{kind}/{base}', 'wb').write(d)


def entries(m, nxt):
    out, p = [], m + 8
    while p + 4 <= nxt:
        size = struct.unpack('>I', data[p:p + 4])[0]
        if size == 0:
            break
        out.append((p, size))
        p += size + 12
    return out


# a middle section with entries (uncompressed: entries read from the file)
mid = secs[len(secs) // 2]
m, nxt, crc = mid
if not compressed:
    withents = [s for s in secs if entries(s[0], s[1])]
    m, nxt, crc = withents[len(withents) // 2]
    ents = entries(m, nxt)
    at, size = ents[len(ents) // 2]
    body = data[at + 8:at + 8 + size]
    c1 = crc_ints(size)
    stored = struct.unpack('>I', data[at + 8 + size:at + 12 + size])[0]
    d = bytearray(data)
    d[at + 8 + size // 2] ^= 0x01
    write('body', d)
    computed = zlib.crc32(bytes(d[at + 8:at + 8 + size]), c1)
    print(f'body\t    entry offset={at} end={at + size + 12} size={size} size_crc=ok crc=BAD stored={stored:08x} computed={computed:08x}')
    print(f'body\t    error offset={at} ')
    d = bytearray(data)
    d[at + 2] ^= 0x10
    write('size', d)
    bad = struct.unpack('>I', d[at:at + 4])[0]
    sc = struct.unpack('>I', data[at + 4:at + 8])[0]
    print(f'size\t    entry offset={at} size={bad} size_crc=BAD stored={sc:08x} computed={crc_ints(bad):08x} crc=unchecked')
    print(f'size\t    error offset={at} ')
d = bytearray(data)
d[m + 7] ^= 0x01
write('marker', d)
print(f'marker\t  section file={m} next={nxt} crc=BAD stored={crc ^ 1:08x} computed={crc:08x}')
print('marker\t  error "')
