#!/usr/bin/env python3
"""corrupt_copies.py OUTDIR TAG=SEGMENT...: writes corrupted copies of each
SEGMENT into OUTDIR/TAG-KIND/<same file name> (the name must stay: its id has
to match the header's) and prints one line per copy: TAG-KIND<TAB>PATH.

Sections and entries are found from the format's facts (docs/format.md), not
with cdctail. A "middle" section is the middle one of those holding entries;
a "middle" entry the middle entry of that section.

Uncompressed segment:
  body     a byte in the middle of the middle entry's body flipped
  size     a byte of the middle entry's size field flipped
  marker   a CRC byte of the middle section's sync marker flipped
  cut-entry    the file cut in the middle of the middle entry
  cut-section  the file cut at the middle section's marker (a section boundary)
  next-short   the `next` of the middle section with two or more entries (not
               covered by the marker's CRC) moved into the middle of its last
               entry
Deflate segment (the one compressor Python's zlib writes): the same five,
the first two by inflating the middle section, changing the entry byte and
deflating it again; the sections after it move, so their markers (whose CRC
covers their position) are written anew. cut-entry cuts the middle section's
compressed bytes in the middle.
Other compressed segments (KIND given as TAG=SEGMENT:payload):
  payload  a byte in the middle of the middle section's compressed bytes flipped
  cut-entry  as above
"""
import os
import struct
import sys
import zlib

from seglayout import crc_ints, sections


def parse(data):
    _, sid, hl, compressed, secs = sections(data)
    return sid, hl, compressed, [(m, nxt) for m, nxt, _ in secs]


def entries(buf, start, end):
    """(offset, size) of the entries of buf[start:end]"""
    out, p = [], start
    while p + 4 <= end:
        size = struct.unpack('>I', buf[p:p + 4])[0]
        if size == 0 or p + size + 12 > end:
            break
        out.append((p, size))
        p += size + 12
    return out


def main():
    outdir = sys.argv[1]
    for arg in sys.argv[2:]:
        tag, path = arg.split('=', 1)
        mode = ''
        if path.endswith(':payload'):
            path, mode = path[:-8], 'payload'
        data = open(path, 'rb').read()
        base = os.path.basename(path)
        sid, hl, compressed, secs = parse(data)

        def write(kind, d):
            os.makedirs(f'{outdir}/{tag}-{kind}', exist_ok=True)
            p = f'{outdir}/{tag}-{kind}/{base}'
            open(p, 'wb').write(d)
            print(f'{tag}-{kind}\t{p}')

        if not compressed:
            full = [s for s in secs if entries(data, s[0] + 8, s[1])]
            m, nxt = full[len(full) // 2]
            ents = entries(data, m + 8, nxt)
            at, size = ents[len(ents) // 2]
            d = bytearray(data); d[at + 8 + size // 2] ^= 0x01; write('body', d)
            d = bytearray(data); d[at + 2] ^= 0x10; write('size', d)
            d = bytearray(data); d[m + 6] ^= 0x01; write('marker', d)
            write('cut-entry', data[:at + (size + 12) // 2])
            write('cut-section', data[:m])
            two = [s for s in secs if len(entries(data, s[0] + 8, s[1])) >= 2]
            m2, nxt2 = two[len(two) // 2]
            at2, size2 = entries(data, m2 + 8, nxt2)[-1]
            d = bytearray(data); struct.pack_into('>I', d, m2, at2 + (size2 + 12) // 2); write('next-short', d)
            continue
        payloads = [(m, struct.unpack('>I', data[m + 8:m + 12])[0], data[m + 12:nxt]) for m, nxt in secs]
        full = [i for i, (m, ulen, z) in enumerate(payloads) if ulen > 0]
        k = full[len(full) // 2]
        m, ulen, z = payloads[k]
        if mode == 'payload':
            d = bytearray(data); d[m + 12 + len(z) // 2] ^= 0x01; write('payload', d)
            write('cut-entry', data[:m + 12 + len(z) // 2])
            continue
        assert b'DeflateCompressor' in data[14:hl], path + ': entry-level copies need a Deflate segment'
        raw = zlib.decompress(z)
        assert len(raw) == ulen
        ents = entries(raw, 0, len(raw))
        at, size = ents[len(ents) // 2]

        def rewrite(section_bytes):
            out = bytearray(data[:hl])
            for i, (mm, ul, zz) in enumerate(payloads):
                if i == k:
                    zz = zlib.compress(bytes(section_bytes))
                pos = len(out)
                out += struct.pack('>II', pos + 12 + len(zz), crc_ints(sid, sid >> 32, pos))
                out += struct.pack('>I', ul) + zz
            return out
        r = bytearray(raw); r[at + 8 + size // 2] ^= 0x01; write('body', rewrite(r))
        r = bytearray(raw); r[at + 2] ^= 0x10; write('size', rewrite(r))
        d = bytearray(data); d[m + 6] ^= 0x01; write('marker', d)
        write('cut-entry', data[:m + 12 + len(z) // 2])
        write('cut-section', data[:m])


main()
