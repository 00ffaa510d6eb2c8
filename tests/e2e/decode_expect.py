#!/usr/bin/env python3
"""Checks `cdctail decode` of a seed-workload fixture against expectations
derived from the CQL that produced it (workload.jsonl): for every statement
on a cdc table, the next partition update of that table must be exactly what
the statement means, with its USING TIMESTAMP, TTL, keys, clustering,
cells and tombstones (range bound kinds included, for ASC and DESC
clustering). The `ops` case (collection element operations, batched range
deletions that Cassandra merges into boundary markers) is checked against
tests/e2e/cqlmodel.py's reading of its CQL: every cell, element path,
complex deletion and marker (kind, clustering, deletion and start deletion).
Prints TAP lines. Usage: decode_expect.py CASE_DIR DECODE_OUTPUT"""
import json, os, re, struct, sys

def hexs(b):
    return b.hex()

def text(s):
    return hexs(s.encode())

def i32(v):
    return hexs(struct.pack('>i', int(v)))

def f32(v):
    return hexs(struct.pack('>f', float(v)))

def parse_decode(path):
    """Partition updates in order: dicts with table, key, pdel, rows, markers;
    parse_decode_full's reading, with one cell per column (the last, as the
    seed tables have no collections) and markers without start deletions."""
    ups = parse_decode_full(path)
    for u in ups:
        u['markers'] = [mk[:3] for mk in u['markers']]
        for r in u['rows']:
            if r['ck'] == 'static':
                r['ck'] = None
            r['cells'] = {c: {'ts': ts, 'ttl': ttl, 'deleted': dl, 'value': v}
                          for c, ts, ttl, dl, _, v in r['cells']}
            del r['cdels']
    return ups

def cql_literals(s):
    """Splits a CQL value list: 'strings' (with '' escapes), numbers, null."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c in ' ,':
            i += 1
        elif c == "'":
            j, buf = i + 1, []
            while True:
                if s[j] == "'" and j + 1 < len(s) and s[j + 1] == "'":
                    buf.append("'"); j += 2
                elif s[j] == "'":
                    break
                else:
                    buf.append(s[j]); j += 1
            out.append(''.join(buf)); i = j + 1
        else:
            m = re.match(r'[^, ]+', s[i:])
            tok = m.group(0)
            out.append(None if tok == 'null' else tok)
            i += len(tok)
    return out

def where(w):
    d = {}
    for col, op, val in re.findall(r"(\w+) (>=|<=|=|>|<) ('[^']*'|[-\d.]+)", w):
        d.setdefault(col, []).append((op, val.strip("'")))
    return d

TYPES = {'genre': text, 'year': i32, 'rating': f32, 'duration': i32, 'title': text, 'director': text, 'country': text}

def expected(st, desc):
    """The partition update a seed-workload statement must produce."""
    cql, ts, ttl = st['cql'], st['ts'], st['ttl']
    e = {'pdel': None, 'rows': [], 'markers': []}
    if cql.startswith('INSERT'):
        m = re.match(r'INSERT INTO \S+ \(([^)]*)\) VALUES \((.*)\) USING TIMESTAMP', cql)
        cols = [c.strip() for c in m.group(1).split(',')]
        vals = dict(zip(cols, cql_literals(m.group(2))))
        e['key'] = text(vals['genre']) + ':' + i32(vals['year'])
        row = {'ck': f32(vals['rating']) + ',' + i32(vals['duration']), 'lts': ts, 'lttl': ttl, 'del': None, 'cells': {}}
        for c in cols:
            if c in ('genre', 'year', 'rating', 'duration'):
                continue
            v = vals[c]
            row['cells'][c] = {'ts': ts, 'ttl': ttl, 'deleted': v is None, 'value': '' if v is None else TYPES[c](v)}
        e['rows'].append(row)
        return e
    w = where(cql.split(' WHERE ', 1)[1].rstrip(';'))
    e['key'] = text(w['genre'][0][1]) + ':' + i32(w['year'][0][1])
    if cql.startswith('UPDATE'):
        sets = re.search(r' SET (.*) WHERE ', cql).group(1)
        row = {'ck': f32(w['rating'][0][1]) + ',' + i32(w['duration'][0][1]), 'lts': None, 'lttl': None, 'del': None, 'cells': {}}
        for col, val in re.findall(r"(\w+) = '((?:[^']|'')*)'", sets):
            row['cells'][col] = {'ts': ts, 'ttl': ttl, 'deleted': False, 'value': TYPES[col](val.replace("''", "'"))}
        e['rows'].append(row)
        return e
    m = re.match(r'DELETE (.*?)\s*FROM', cql)
    cols = [c.strip() for c in m.group(1).split(',')] if m.group(1) else []
    if cols:
        row = {'ck': f32(w['rating'][0][1]) + ',' + i32(w['duration'][0][1]), 'lts': None, 'lttl': None, 'del': None, 'cells': {}}
        for c in cols:
            row['cells'][c] = {'ts': ts, 'ttl': None, 'deleted': True, 'value': ''}
        e['rows'].append(row)
        return e
    if 'rating' not in w:
        e['pdel'] = ts
        return e
    r = w['rating']
    if 'duration' in w:
        d = w['duration']
        if d[0][0] == '=':
            e['rows'].append({'ck': f32(r[0][1]) + ',' + i32(d[0][1]), 'lts': None, 'lttl': None, 'del': ts, 'cells': {}})
            return e
        rv = f32(r[0][1])
        lo = [(op, v) for op, v in d if op in ('>', '>=')]
        hi = [(op, v) for op, v in d if op in ('<', '<=')]
        start = ('EXCL_START_BOUND' if lo[0][0] == '>' else 'INCL_START_BOUND', rv + ',' + i32(lo[0][1])) if lo else ('INCL_START_BOUND', rv)
        end = ('EXCL_END_BOUND' if hi[0][0] == '<' else 'INCL_END_BOUND', rv + ',' + i32(hi[0][1])) if hi else ('INCL_END_BOUND', rv)
        e['markers'] = [(start[0], start[1], ts), (end[0], end[1], ts)]
        return e
    if r[0][0] == '=':
        e['markers'] = [('INCL_START_BOUND', f32(r[0][1]), ts), ('INCL_END_BOUND', f32(r[0][1]), ts)]
        return e
    lo = [(op, v) for op, v in r if op in ('>', '>=')][0]
    hi = [(op, v) for op, v in r if op in ('<', '<=')][0]
    if not desc:
        e['markers'] = [('INCL_START_BOUND' if lo[0] == '>=' else 'EXCL_START_BOUND', f32(lo[1]), ts),
                        ('EXCL_END_BOUND' if hi[0] == '<' else 'INCL_END_BOUND', f32(hi[1]), ts)]
    else:  # DESC: the slice starts at the high value
        e['markers'] = [('EXCL_START_BOUND' if hi[0] == '<' else 'INCL_START_BOUND', f32(hi[1]), ts),
                        ('INCL_END_BOUND' if lo[0] == '>=' else 'EXCL_END_BOUND', f32(lo[1]), ts)]
    return e

def parse_decode_full(path):
    """Every partition update with its cells in order (paths, complex
    deletions, marker start deletions included)."""
    ups, cur, row = [], None, None
    for line in open(path, encoding='utf-8'):
        s = line.strip()
        if s.startswith('update '):
            m = re.match(r'update (\S+) cdc=(\d) key=(\S*)', s)
            cur = {'table': m.group(1), 'key': m.group(3), 'pdel': None, 'rows': [], 'markers': []}
            ups.append(cur)
        elif cur is None:
            continue
        elif s.startswith('partition deletion'):
            cur['pdel'] = int(re.search(r'ts=(-?\d+)', s).group(1))
        elif s.startswith('row '):
            m = re.match(r'row (static|\(([^)]*)\))(.*)', s)
            lm = re.search(r'liveness ts=(-?\d+)(?: ttl=(\d+))?', m.group(3))
            dm = re.search(r' deletion ts=(-?\d+)', m.group(3))
            row = {'ck': 'static' if m.group(1) == 'static' else m.group(2),
                   'lts': int(lm.group(1)) if lm else None, 'lttl': int(lm.group(2)) if lm and lm.group(2) else None,
                   'del': int(dm.group(1)) if dm else None, 'cdels': {}, 'cells': []}
            cur['rows'].append(row)
        elif s.startswith('complex_deletion '):
            m = re.match(r'complex_deletion (\S+) ts=(-?\d+)', s)
            row['cdels'][m.group(1)] = int(m.group(2))
        elif s.startswith('cell '):
            m = re.match(r'cell (\S+) ts=(-?\d+)(?: ttl=(\d+) expires=\d+)?( deleted ldt=\d+)?(?: path=(\S+))? value=(\S*)', s)
            row['cells'].append((m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None,
                                 bool(m.group(4)), m.group(5), m.group(6)))
        elif s.startswith('marker '):
            m = re.match(r'marker (\S+) \(([^)]*)\) deletion ts=(-?\d+)(?: ldt=\d+)?(?: start_deletion ts=(-?\d+))?', s)
            cur['markers'].append((m.group(1), m.group(2), int(m.group(3)), int(m.group(4)) if m.group(4) else None))
    return ups


def ops_expected(cm, model, u):
    """The decode form of one expected update; list elements a statement
    creates stay NewElement objects (their paths come from the segment)."""
    t = u.table
    hx = lambda c, v: cm.serialize(t.types[c], v).hex()
    e = {'key': ':'.join(hx(c, v) for c, v in zip(t.pk, u.key)), 'pdel': u.pdel, 'rows': [], 'markers': []}
    # rows in clustering order (static first), as Cassandra writes them
    order = sorted(u.rows, key=lambda ck: (ck != 'static', [] if ck == 'static' else
                                           [(-1 if t.desc[c] else 1) * v for c, v in zip(t.ck, ck)]))
    for ck in order:
        r = u.rows[ck]
        row = {'ck': 'static' if ck == 'static' else ','.join(hx(c, v) for c, v in zip(t.ck, ck)),
               'lts': r.lts, 'lttl': r.lttl, 'del': r.deleted, 'cdels': {}, 'cells': [], 'model_ck': ck}
        for c in sorted(r.cells):
            cell, ty = r.cells[c], t.types[c]
            if isinstance(cell, cm.Cell):
                row['cells'].append((c, cell.ts, cell.ttl, cell.deleted, None, '' if cell.deleted else hx(c, cell.value)))
                continue
            if cell.cleared is not None:
                row['cdels'][c] = cell.cleared
            for el in cell.elements:
                if ty.kind == 'set':
                    path, val = cm.serialize(ty.params[0], el.path).hex(), ''
                elif ty.kind == 'map':
                    path = cm.serialize(ty.params[0], el.path).hex()
                    val = '' if el.deleted else cm.serialize(ty.params[1], el.value).hex()
                elif ty.kind == 'udt':
                    names = [n for n, _ in ty.fields]
                    path = struct.pack('>H', names.index(el.path)).hex()
                    val = '' if el.deleted else cm.serialize(dict(ty.fields)[el.path], el.value).hex()
                else:
                    path = el.path   # a list element: its uuid, known or to learn
                    val = '' if el.deleted else cm.serialize(ty.params[0], el.value).hex()
                row['cells'].append((c, el.ts, el.ttl, el.deleted, path, val))
        e['rows'].append(row)
    # range deletions in clustering order: bounds, or a boundary where one
    # range ends at the point the next starts
    prev = None
    for s_, e_, ts in u.ranges:
        vals = lambda b: ','.join(hx(c, v) for c, v in zip(t.ck, b[0]))
        if prev is not None:
            pe, pts = prev
            if cm.cmp_pos(t, cm.end_pos(pe), cm.start_pos(s_)) == 0:
                kind = 'EXCL_END_INCL_START_BOUNDARY' if not pe[1] else 'INCL_END_EXCL_START_BOUNDARY'
                e['markers'].append((kind, vals(pe), pts, ts))
            else:
                e['markers'].append(('INCL_END_BOUND' if pe[1] else 'EXCL_END_BOUND', vals(pe), pts, None))
                e['markers'].append(('INCL_START_BOUND' if s_[1] else 'EXCL_START_BOUND', vals(s_), ts, None))
        else:
            e['markers'].append(('INCL_START_BOUND' if s_[1] else 'EXCL_START_BOUND', vals(s_), ts, None))
        prev = (e_, ts)
    if prev is not None:
        pe, pts = prev
        e['markers'].append(('INCL_END_BOUND' if pe[1] else 'EXCL_END_BOUND',
                             ','.join(hx(c, v) for c, v in zip(t.ck, pe[0])), pts, None))
    return e


def ops_main(case, out):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import cqlmodel as cm
    schema = cm.load_schema(f'{case}/schema.json')
    model = cm.Model(schema)
    stmts = [json.loads(l) for l in open(f'{case}/workload.jsonl', encoding='utf-8')]
    got = {}
    for u in parse_decode_full(out):
        got.setdefault(u['table'], []).append(u)
    pos = {name: 0 for name in got}
    fails, kinds = {}, {}
    for i, st in enumerate(stmts):
        name = f"{st['keyspace']}.{st['table']}"
        probs = fails.setdefault(name, [])
        for u in model.apply(st['cql']):
            e = ops_expected(cm, model, u)
            k = pos.get(name, 0)
            pos[name] = k + 1
            if k >= len(got.get(name, [])):
                probs.append(f"statement {i} ({st['shape']}): no decoded update")
                continue
            g = dict(got[name][k])
            del g['table']
            # list elements the statement created: their paths from the segment, checked in place
            for er in e['rows']:
                ckv = er.pop('model_ck')
                gr = next((r for r in g['rows'] if r['ck'] == er['ck']), None)
                if gr is None:
                    continue
                groups = {}
                for j, (ec, gc) in enumerate(zip(er['cells'], gr['cells'])):
                    if isinstance(ec[4], cm.NewElement) and ec[4].uuid is None and ec[0] == gc[0]:
                        groups.setdefault(ec[0], []).append((j, ec[4], gc[4]))
                for col, items in groups.items():
                    for p in cm.check_new_elements(model, u.table.name, u.key, ckv, col, [(x, pth) for _, x, pth in items]):
                        probs.append(f"statement {i} ({st['shape']}): {p}")
                    for j, x, pth in items:
                        c = er['cells'][j]
                        er['cells'][j] = c[:4] + (pth,) + c[5:]
                er['cells'] = [c[:4] + (c[4].uuid,) + c[5:] if isinstance(c[4], cm.NewElement) else c for c in er['cells']]
                gr['cells'] = sorted(gr['cells'], key=lambda c: c[0])   # columns in any order, elements in order
                er['cells'] = sorted(er['cells'], key=lambda c: c[0])
            for m in g['markers']:
                kinds[m[0]] = kinds.get(m[0], 0) + 1
            if g != e:
                probs.append(f"statement {i} ({st['shape']}): {st['cql'][:140]}\n#   expected {e}\n#   decoded  {g}")
    for name, ups in got.items():
        if pos.get(name, 0) != len(ups):
            fails.setdefault(name, []).append(f"{len(ups)} decoded updates, the CQL makes {pos.get(name, 0)}")
    bad = 0
    for name in sorted(fails):
        for p in fails[name][:5]:
            print(f"# {p}")
        shapes = sorted({s['shape'] for s in stmts if f"{s['keyspace']}.{s['table']}" == name})
        print(f"{'not ok' if fails[name] else 'ok'} - {case} {name}: {pos.get(name, 0)} updates ({', '.join(shapes)}) decode as the CQL says")
        bad += bool(fails[name])
    # the boundary kinds the merged batches imply: both must be there
    for kind in ('EXCL_END_INCL_START_BOUNDARY', 'INCL_END_EXCL_START_BOUNDARY'):
        n = kinds.get(kind, 0)
        print(f"{'ok' if n else 'not ok'} - {case}: {n} {kind} markers decoded where the batched CQL ranges adjoin")
        bad += not n
    sys.exit(1 if bad else 0)


def main():
    case, out = sys.argv[1], sys.argv[2]
    if os.path.basename(case.rstrip('/')) == 'ops':
        return ops_main(case, out)
    schema = json.load(open(f'{case}/schema.json'))
    cdc = {f"{t['keyspace']}.{t['table']}": t for t in schema['tables'] if t['cdc']}
    desc = {name: any(c['clustering_order'] == 'desc' for c in t['columns']) for name, t in cdc.items()}
    ups = {}
    for u in parse_decode(out):
        ups.setdefault(u['table'], []).append(u)
    stmts = [json.loads(l) for l in open(f'{case}/workload.jsonl', encoding='utf-8')]
    fails, n = 0, 0
    for name in sorted(cdc):
        got = ups.get(name, [])
        want = [s for s in stmts if f"{s['keyspace']}.{s['table']}" == name]
        if len(got) != len(want):
            print(f"not ok - {case} {name}: {len(got)} decoded updates for {len(want)} statements")
            fails += 1
            continue
        for i, (g, s) in enumerate(zip(got, want)):
            e = expected(s, desc[name])
            g2 = {k: g[k] for k in ('key', 'pdel', 'rows', 'markers')}
            if g2 != {k: e[k] for k in ('key', 'pdel', 'rows', 'markers')}:
                fails += 1
                if fails <= 5:
                    print(f"# statement {i} ({s['shape']}): {s['cql']}\n#   expected {e}\n#   decoded  {g2}")
            n += 1
        print(f"{'not ok' if fails else 'ok'} - {case} {name}: {len(want)} statements ({', '.join(sorted({s['shape'] for s in want}))}) decode as the CQL says")
    sys.exit(1 if fails else 0)

if __name__ == '__main__':
    main()
