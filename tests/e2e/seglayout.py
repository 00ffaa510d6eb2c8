"""seglayout.py - the commitlog segment layout as the test tools read it
(docs/format.md), written here from the format's facts so that no tool's
expectation comes from cdctail: the CRC-32 of big-endian ints as Cassandra's
updateChecksumInt feeds them, and the walk over a segment's sync markers."""
import struct
import zlib


def crc_ints(*vals, c=0):
    """CRC-32 of each value as a 4-byte big-endian int, continuing from c."""
    for v in vals:
        c = zlib.crc32(struct.pack('>I', v & 0xffffffff), c)
    return c


def sections(data):
    """(version, id, header_len, compressed, [(marker, next, crc)]): the sync
    sections of a segment, from its first marker up to the first one whose
    CRC does not match or whose next does not move forward inside the file."""
    version, sid, plen = struct.unpack('>iqH', data[:14])
    hl = 18 + plen
    compressed = b'compressionClass' in data[14:14 + plen]
    out, m = [], hl
    while m + 8 <= len(data):
        nxt, crc = struct.unpack('>II', data[m:m + 8])
        if crc != crc_ints(sid, sid >> 32, m) or nxt <= m or nxt > len(data):
            break
        out.append((m, nxt, crc))
        m = nxt
    return version, sid, hl, compressed, out
