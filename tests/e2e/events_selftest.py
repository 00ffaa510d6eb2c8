#!/usr/bin/env python3
"""events_expect.py must be able to fail: each mutation below changes one
event of the 5.0 `types` or `ops` replay in one way the contract forbids
(a float that is not the shortest text, a decimal with another scale, a
range bound's inclusive flag, a list element's position, ...), and the
checker must report a difference it did not report for the real events.
Prints one TAP line per mutation. Usage: events_selftest.py TYPES_DIR
TYPES_EVENTS OPS_DIR OPS_EVENTS"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import events_expect as ee  # noqa: E402

# (case, what it breaks, regex on one event line, replacement)
MUTATIONS = [
    ('types', 'float not shortest (7.4 as 7.4000001)', r'("fl":\{"ts":\d+,"value":)7\.4\}', r'\g<1>7.4000001}'),
    ('types', 'double not the value', r'"value":3\.141592653589793', '"value":3.14159265358979'),
    ('types', 'vector element not shortest', r'"value":\[1\.5,', '"value":[1.50000001,'),
    ('types', 'decimal of another scale', r'"value":"123\.45"', '"value":"123.450"'),
    ('types', 'decimal exponent as plain digits', r'"value":"1E\+10"', '"value":"10000000000"'),
    ('types', 'varint as a JSON number', r'"value":"18446744073709551616"', '"value":18446744073709551616'),
    ('types', 'duration weeks not folded into days', r'1y2mo25d5h6m7s8ms9us10ns', '1y2mo3w4d5h6m7s8ms9us10ns'),
    ('types', 'timestamp without milliseconds', r'"2015-09-22T01:02:03\.456Z"', '"2015-09-22T01:02:03Z"'),
    ('types', 'time without all nine digits', r'"13:14:15\.123456789"', '"13:14:15.123456"'),
    ('types', 'blob in upper case', r'"0xcafebabe"', '"0xCAFEBABE"'),
    ('types', 'inet ::1 uncompressed', r'"value":"::1"', '"value":"0:0:0:0:0:0:0:1"'),
    ('types', 'uuid in upper case', r'"123e4567-e89b-12d3-a456-426614174000"', '"123E4567-E89B-12D3-A456-426614174000"'),
    ('types', 'NaN as null', r'"value":"NaN"', '"value":null'),
    ('types', 'date off by a day', r'"2015-09-22"', '"2015-09-23"'),
    ('types', 'frozen set out of order', r'"value":\[1,2,3\]', '"value":[3,1,2]'),
    ('types', 'frozen map as an object', r'"value":\[\[1,"one"\],\[2,"two"\]\]', '"value":{"1":"one","2":"two"}'),
    ('types', 'tuple null element dropped', r'"value":\[null,"x",false\]', '"value":["x",false]'),
    ('types', 'UDT field value', r'"field":"zip","value":12000', '"field":"zip","value":12001'),
    ('types', 'cell ttl missing', r'"ttl":600,"expires":\d+,', ''),
    ('types', 'cell ts off by one', r'("te":\{"ts":173250000000)1000', r'\g<1>1001'),
    ('types', 'tombstone given a value', r'"bl":\{"ts":(\d+),"deleted":true\}', r'"bl":{"ts":\1,"deleted":true,"value":"0x"}'),
    ('types', 'static row not marked', r'"static":true,"cells":\{"s":\{"ts":1732500000026000', '"cells":{"s":{"ts":1732500000026000'),
    ('types', 'range bound on DESC column swapped', r'"start":\{"clustering":\{"c1":1\},"inclusive":true\},"end":\{"clustering":\{"c1":1,"c2":"a"\},"inclusive":false\}',
     '"start":{"clustering":{"c1":1,"c2":"a"},"inclusive":false},"end":{"clustering":{"c1":1},"inclusive":true}'),
    ('types', 'counter total instead of running sum', r'("n":\{"ts":\d+,"value":)6\}', r'\g<1>1}'),
    ('types', 'cleared_ts of an overwrite missing', r'"l":\{"cleared_ts":1732500000018999,', '"l":{'),
    ('types', 'an event lost (the partition deletion)', r'^\{"op":"delete_partition".*$', ''),
    ('ops', 'boundary: inclusive flag of the start after it', r'("start":\{"clustering":\{"ck":5\},"inclusive":)true', r'\1false'),
    ('ops', 'boundary: ts of the newer side', r'("end":\{"clustering":\{"ck":9\},"inclusive":false\},"ts":)1732500000019000', r'\g<1>1732500000018000'),
    ('ops', 'overlap: a range event lost', r'^\{"op":"delete_range","keyspace":"ops","table":"ranges","key":\{"p":3\}.*"ck":5\},"inclusive":true\}.*$', ''),
    ('ops', 'list set by index at another element', r'("ts":1732500000002000,"index":")11ce6884', r'\g<1>11ce687a'),
    ('ops', 'list removal by value misses an element', r',\{"ts":1732500000003000,"deleted":true,"index":"11ce688eed5c11f1ac95ebc866e6fde6"\}', ''),
    ('ops', 'prepended element placed after the list', r'("ts":1732500000005000,"index":")23818b5eff7511cb', r'\g<1>ffffffffed5c11f1'),
    ('ops', 'map key overwritten with another value', r'"key":"k1","value":100', '"key":"k1","value":10'),
    ('ops', 'UDT field null as a value', r'("ts":1732500000012000,)"deleted":true,("field":"x")', r'\1\2,"value":null'),
    ('ops', 'element ttl lost', r'("ts":1732500000013000),"ttl":600,"expires":\d+', r'\1'),
    ('ops', 'list_append mark dropped from an append', r'(\]\}\}),"list_append":true(,"ts":1732500000006000)', r'\1\2'),
    ('types', 'list_append mark on a change without list elements', r'(\}\}),("ts":1732500000021000)', r'\1,"list_append":true,\2'),
    ('ops', 'insert op for a batch row turned update', r'^\{"op":"insert"(,"keyspace":"ops","table":"ranges_desc","key":\{"p":2\},"clustering":\{"ck":7\})', r'{"op":"update"\1'),
]


def main():
    dirs = {'types': (sys.argv[1], sys.argv[2]), 'ops': (sys.argv[3], sys.argv[4])}
    base = {}
    for case, (d, evf) in dirs.items():
        lines = open(evf, encoding='utf-8').read().splitlines()
        out, _ = ee.check(d, lines)
        base[case] = (lines, {l for l in out if l.startswith('#')})
    bad = 0
    for case, what, rx, rep in MUTATIONS:
        lines, known = base[case]
        new, hit = [], 0
        for l in lines:
            if not hit:
                m, n = re.subn(rx, rep, l, count=1)
                if n:
                    hit = 1
                    l = m
            new.append(l)
        if not hit:
            print(f"not ok - checker self-test {case}: mutation '{what}' found nothing to change")
            bad += 1
            continue
        out, _ = ee.check(dirs[case][0], new)
        fresh = [l for l in out if l.startswith('#') and l not in known]
        if fresh:
            print(f"ok - checker self-test {case}: '{what}' is reported ({fresh[0].split(chr(10))[-1].strip('# ')[:110]})")
        else:
            print(f"not ok - checker self-test {case}: '{what}' passes unnoticed")
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
