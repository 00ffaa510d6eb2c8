#!/usr/bin/env python3
"""tests/fuzz/make-snapshot-seeds.py - writes the seed corpus of
fuzz_snapshot_row (tests/fuzz/corpus/snapshot_row/): CQL result rows of
`cdctail snapshot`'s SELECT for tables of the fuzz schema (fuzz_schema.h:
table 0 types.all_types, 3 types.colls, 4 types.counters, 7 types.statics,
8 seed.movies_by_genre), each cell [int length][bytes] as the native protocol
frames it. Byte 0: the table, byte 1: bit 0 per-element WRITETIME/TTL (5.0),
bit 1 the static row."""
import os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/snapshot_row"
os.makedirs(out, exist_ok=True)
NULL = None
i32 = lambda v: struct.pack(">i", v)
i64 = lambda v: struct.pack(">q", v)
txt = lambda s: s.encode()
def cells(*vs):
    b = b""
    for v in vs:
        b += struct.pack(">i", -1) if v is None else struct.pack(">i", len(v)) + v
    return b
def coll(items, count=True):
    b = struct.pack(">i", len(items)) if count else b""
    for v in items:
        b += struct.pack(">i", -1) if v is None else struct.pack(">i", len(v)) + v
    return b
def cmap(pairs):
    return struct.pack(">i", len(pairs)) + coll([x for kv in pairs for x in kv], count=False)
def simple(v, wt, ttl=None):
    return [v, i64(wt), None if ttl is None else i32(ttl)]

def write(name, table, flags, vs):
    open(os.path.join(out, name), "wb").write(bytes([table, flags]) + cells(*vs))

# types.statics: token, p, c, s, s2, v (each with WRITETIME, TTL)
write("statics-row", 7, 0, [i64(42), i32(1), i32(2)] + simple(txt("a"), 100) + simple(i32(5), 100, 60) + simple(txt("x"), 50, 30))
write("statics-static", 7, 2, [i64(42), i32(1), i32(2)] + simple(txt("a"), 100) + simple(i32(5), 100, 60) + simple(txt("x"), 50, 30))
write("statics-only", 7, 2, [i64(-5), i32(3), None] + simple(txt("only"), 7) + [None] * 3 + [None] * 3)
# types.colls at 5.0: id, addr, faddr, fl, fm, fs, l, m, nested, s, tu
addr = coll([txt("main"), i32(12345), coll([txt("t1"), txt("t2")])], count=False)
row = [i64(9), i32(3)]
row += [addr, coll([i64(40), i64(41), i64(42)]), coll([None, i32(9), None])]
row += simple(addr, 43)
row += simple(coll([txt("a"), txt("b")]), 44)
row += simple(cmap([(i32(1), txt("one"))]), 45)
row += simple(coll([i32(1), i32(2)]), 46)
row += [coll([i32(7), i32(8), i32(7)]), coll([i64(10), i64(20), i64(10)]), coll([None, i32(5), None])]
row += [cmap([(txt("k"), i32(1)), (txt("z"), i32(2))]), coll([i64(30), i64(31)]), coll([None, None])]
row += [cmap([(txt("n"), coll([i32(1), i32(2)]))]), coll([i64(32)]), coll([i32(100)])]
row += [coll([txt("a"), txt("b")]), coll([i64(33), i64(34)]), coll([None, None])]
row += simple(coll([i32(1), txt("t"), b"\x01"], count=False), 35)
write("colls-5.0", 3, 1, row)
# the same before 5.0: non-frozen columns without WRITETIME/TTL
row4 = [i64(9), i32(3), addr] + simple(addr, 43) + simple(coll([txt("a")]), 44) + simple(cmap([(i32(1), txt("one"))]), 45) \
    + simple(coll([i32(1)]), 46) + [coll([i32(7), i32(8)]), cmap([(txt("k"), i32(1))]), cmap([(txt("n"), coll([]))]),
                                     coll([txt("a")])] + simple(coll([i32(1), txt("t"), b"\x00"], count=False), 35)
write("colls-4.1", 3, 0, row4)
# types.counters: token, id, m, n
write("counters", 4, 0, [i64(1), i32(1)] + simple(i64(5), 1796284862000000) + simple(i64(-3), 1796284862000001))
# seed.movies_by_genre: token, genre, year, rating, duration, then country, director, title
write("movies", 8, 0, [i64(77), txt("drama"), i32(2015), struct.pack(">f", 7.4), i32(110)] + [None] * 3
      + simple(txt("Philippe Falardeau"), 1732500000001000) + simple(txt("The Good Lie"), 1732500000001000, 86400))
# types.all_types: token, id, then 20 columns (a few with values)
at = [i64(3), i32(1)]
for i in range(21):
    at += simple(i64(i), 1000 + i) if i == 1 else simple(txt("t%d" % i), 1000 + i) if i in (0, 12, 18) else [None] * 3
write("all-types", 0, 0, at)
print("wrote seeds to %s" % out)
