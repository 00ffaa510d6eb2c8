#!/usr/bin/env python3
"""Checks `cdctail replay` of a fixture against the events its CQL implies
(docs/events.md is the contract). For every statement of workload.jsonl,
cqlmodel.py computes the partition updates Cassandra writes; from those this
file derives each event: op, key, clustering (or static), range bounds with
their inclusive flags, every cell's value, ts, ttl and deleted flag,
collection elements (set value, map key, UDT field, list position), the
row's TTL and the event's ts. Values are rendered from the CQL literals by
this file's own rules for each type (docs/events.md, "Values"); floats must
be the shortest text that reads back to the same float/double.

Events are assigned to statements by their ts (each statement's USING
TIMESTAMPs are its own; counters, which take none, by order), and must come
in statement order. Prints TAP lines: per table of the fixture, ok when every
statement's events are exactly what its CQL says; the differences as
comments. Usage: events_expect.py CASE_DIR EVENTS_JSONL"""
import datetime
import json
import math
import os
import re
import struct
import sys
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cqlmodel as cm  # noqa: E402


class RInt(int):
    pass


class RFloat(float):
    pass


def raw_int(s):
    v = RInt(s)
    v.text = s
    return v


def raw_float(s):
    v = RFloat(s)
    v.text = s
    return v


# ------------------------------------------------------------ value rules


def sig_digits(text):
    m = text.lstrip('-').split('e')[0].split('E')[0].replace('.', '').strip('0')
    return len(m)


def shortest_digits(x, single):
    for p in range(1, 18):
        y = float('%.*g' % (p, x))
        if (cm.f32(y) if single else y) == x:
            return p
    return 17


def is_num(a):
    return isinstance(a, (int, float)) and not isinstance(a, bool)


def fmt_ts_ms(ms):
    d = cm.EPOCH + datetime.timedelta(milliseconds=ms)
    return d.strftime('%Y-%m-%dT%H:%M:%S.') + f"{ms % 1000:03d}Z"


def fmt_time(ns):
    s, frac = divmod(ns, 10**9)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:09d}"


def fmt_duration(d):
    months, days, nanos = d
    neg = months < 0 or days < 0 or nanos < 0
    months, days, nanos = abs(months), abs(days), abs(nanos)
    out = '-' if neg else ''
    if months // 12:
        out += f"{months // 12}y"
    if months % 12:
        out += f"{months % 12}mo"
    if days:
        out += f"{days}d"
    for unit, size in (('h', 3600 * 10**9), ('m', 60 * 10**9), ('s', 10**9), ('ms', 10**6), ('us', 10**3), ('ns', 1)):
        if nanos // size:
            out += f"{nanos // size}{unit}"
            nanos %= size
    # an all-zero duration: the literal CQL reads it back from
    return out if out not in ('', '-') else '0s'


def check_value(t, exp, act, where):
    """Problems of JSON value act against the CQL value exp of type t."""
    k = t.kind
    bad = [f"{where}: expected {render_hint(t, exp)}, got {json.dumps(act)}"]
    if exp is None:
        return [] if act is None else bad
    if k in ('text', 'ascii'):
        return [] if act == exp else bad
    if k in ('int', 'bigint', 'smallint', 'tinyint', 'counter'):
        ok = isinstance(act, RInt) and int(act) == exp and act.text == str(exp)
        return [] if ok else bad
    if k in ('varint',):
        return [] if act == str(exp) else bad
    if k == 'decimal':
        try:
            ok = isinstance(act, str) and Decimal(act).as_tuple() == exp.as_tuple()
        except ArithmeticError:
            ok = False
        return [] if ok else bad
    if k in ('float', 'double'):
        single = k == 'float'
        if math.isnan(exp):
            return [] if act == 'NaN' else bad
        if math.isinf(exp):
            return [] if act == ('Infinity' if exp > 0 else '-Infinity') else bad
        if not is_num(act):
            return bad
        back = cm.f32(float(act.text)) if single else float(act.text)
        if back != exp:
            return bad
        want = shortest_digits(exp, single)
        if exp != 0 and sig_digits(act.text) != want:
            return [f"{where}: {act.text} reads back to the value but is not the shortest such text ({want} digits)"]
        return []
    if k == 'boolean':
        return [] if act is exp else bad
    if k == 'blob':
        return [] if act == '0x' + exp.hex() else bad
    if k in ('uuid', 'timeuuid'):
        return [] if act == exp else bad
    if k == 'inet':
        return [] if act == str(exp) else bad
    if k == 'date':
        return [] if act == exp.isoformat() else bad
    if k == 'time':
        return [] if act == fmt_time(exp) else bad
    if k == 'timestamp':
        return [] if act == fmt_ts_ms(exp) else bad
    if k == 'duration':
        return [] if act == fmt_duration(exp) else bad
    if k in ('list', 'set', 'vector', 'tuple'):
        if not isinstance(act, list) or len(act) != len(exp):
            return bad
        types = t.params if k == 'tuple' else [t.params[0]] * len(exp)
        return [p for i, (et, e, a) in enumerate(zip(types, exp, act)) for p in check_value(et, e, a, f"{where}[{i}]")]
    if k == 'map':
        if not isinstance(act, list) or len(act) != len(exp) or not all(isinstance(p, list) and len(p) == 2 for p in act):
            return bad
        out = []
        for i, ((ek, ev), (ak, av)) in enumerate(zip(exp, act)):
            out += check_value(t.params[0], ek, ak, f"{where}[{i}].key") + check_value(t.params[1], ev, av, f"{where}[{i}].value")
        return out
    if k == 'udt':
        if not isinstance(act, dict) or set(act) != {n for n, _ in t.fields}:
            return bad
        return [p for n, ft in t.fields for p in check_value(ft, exp[n], act[n], f"{where}.{n}")]
    return [f"{where}: no rule for type {k}"]


def render_hint(t, v):
    """The expected value, as the contract renders it (for messages)."""
    k = t.kind
    if v is None:
        return 'null'
    if k in ('decimal', 'varint'):
        return json.dumps(str(v))
    if k in ('float', 'double'):
        if math.isnan(v) or math.isinf(v):
            return json.dumps('NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity'))
        return '%.*g' % (shortest_digits(v, k == 'float'), v)
    if k == 'blob':
        return json.dumps('0x' + v.hex())
    if k == 'inet':
        return json.dumps(str(v))
    if k == 'date':
        return json.dumps(v.isoformat())
    if k == 'time':
        return json.dumps(fmt_time(v))
    if k == 'timestamp':
        return json.dumps(fmt_ts_ms(v))
    if k == 'duration':
        return json.dumps(fmt_duration(v))
    if k in ('list', 'set', 'vector', 'tuple'):
        types = t.params if k == 'tuple' else [t.params[0]] * len(v)
        return '[' + ','.join(render_hint(et, x) for et, x in zip(types, v)) + ']'
    if k == 'map':
        return '[' + ','.join(f"[{render_hint(t.params[0], a)},{render_hint(t.params[1], b)}]" for a, b in v) + ']'
    if k == 'udt':
        return '{' + ','.join(f'"{n}":{render_hint(ft, v[n])}' for n, ft in t.fields) + '}'
    return json.dumps(v)

# ------------------------------------------------------------ events


class Expected:
    """One expected event: op, table, key, where (clustering / 'static' /
    range bounds), the row or range it comes from."""

    def __init__(self, op, u, **kw):
        self.op, self.u = op, u
        self.__dict__.update(kw)

    def slot(self):
        """What pairs an actual event with this one: the kind of change and
        its place (key, clustering or bounds), not its content."""
        kind = {'delete_partition': 'p', 'delete_range': 'r', 'delete_row': 'd'}.get(self.op, 'row')
        return (kind, self.u.table.name, self.u.key, getattr(self, 'ck', None),
                getattr(self, 'start', None), getattr(self, 'end', None))


def expected_events(updates):
    out = []
    for u in updates:
        t = u.table
        if u.pdel is not None:
            out.append(Expected('delete_partition', u, ts=u.pdel))
        for s, e, ts in u.ranges:
            out.append(Expected('delete_range', u, start=s, end=e, ts=ts))
        order = sorted(u.rows, key=lambda ck: (ck != 'static', [] if ck == 'static' else
                                               [(-1 if t.desc[c] else 1, cm.sort_key(t.types[c], v)) for c, v in zip(t.ck, ck)]))
        for ck in order:
            r = u.rows[ck]
            if r.deleted is not None:
                out.append(Expected('delete_row', u, ck=ck, ts=r.deleted))
            if not r.has_data():
                continue
            live = r.lts is not None
            tss = [r.lts] if live else []
            for c, cell in r.cells.items():
                if isinstance(cell, cm.Complex):
                    live |= any(not e.deleted for e in cell.elements)
                    tss += [e.ts for e in cell.elements] + ([cell.cleared] if cell.cleared is not None else [])
                else:
                    live |= not cell.deleted
                    tss.append(cell.ts)
            op = 'insert' if r.lts is not None else ('update' if live else 'delete_cells')
            tss = [x for x in tss if x is not None]
            out.append(Expected(op, u, ck=ck, row=r, ts=max(tss) if tss else None))
    return out


def ck_of(t, ev):
    """An actual row event's place: 'static' or its clustering tuple (as JSON)."""
    if ev.get('static'):
        return 'static'
    return tuple(json.dumps(ev.get('clustering', {}).get(c)) for c in t.ck) if t.ck else ()


def exp_ck_json(t, ck):
    if ck == 'static' or ck is None:
        return ck
    return tuple(json.dumps(json.loads(render_hint(t.types[c], v))) for c, v in zip(t.ck, ck))


def exp_bound_json(t, b):
    if b is None or not b[0]:
        return None
    return (tuple(json.dumps(json.loads(render_hint(t.types[c], v))) for c, v in zip(t.ck, b[0])), b[1])


def act_bound(ev, name, t):
    b = ev.get(name)
    if b is None:
        return None
    cl = b.get('clustering', {})
    return (tuple(json.dumps(cl[c]) for c in t.ck if c in cl), b.get('inclusive'))


def actual_slot(ev, t):
    kind = {'delete_partition': 'p', 'delete_range': 'r', 'delete_row': 'd'}.get(ev['op'], 'row')
    return kind, ck_of(t, ev) if kind in ('row', 'd') else None, act_bound(ev, 'start', t), act_bound(ev, 'end', t)


def key_of(t, ev):
    return tuple(json.dumps(ev.get('key', {}).get(c)) for c in t.pk)


def exp_key_json(t, key):
    return tuple(json.dumps(json.loads(render_hint(t.types[c], v))) for c, v in zip(t.pk, key))


class Checker:
    def __init__(self, case):
        self.case = case
        self.schema = cm.load_schema(f"{case}/schema.json")
        self.model = cm.Model(self.schema)
        meta = json.load(open(f"{case}/meta.json"))
        gen = datetime.datetime.strptime(meta['generated'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
        self.generated = int(gen.timestamp())

    def ttl_problems(self, obj, ttl, where):
        if ttl is None:
            return [f"{where}: has a ttl {obj.get('ttl')}, the CQL sets none"] if 'ttl' in obj or 'expires' in obj else []
        if obj.get('ttl') != ttl:
            return [f"{where}: ttl {obj.get('ttl')}, the CQL says {ttl}"]
        exp = obj.get('expires')
        # the write happened in the minute before the fixture's generation time
        if not isinstance(exp, int) or abs(exp - (self.generated + ttl)) > 600:
            return [f"{where}: expires {exp}, not the generation time {self.generated} + ttl {ttl} (seconds)"]
        return []

    def cell_problems(self, t, key, ck, c, cell, act, where):
        ty = t.types[c]
        if isinstance(cell, cm.Cell):   # simple or counter
            out = []
            if ty.kind == 'counter':
                if not isinstance(act.get('ts'), int):
                    out.append(f"{where}: no ts")
            elif act.get('ts') != cell.ts:
                out.append(f"{where}: ts {act.get('ts')}, the CQL says {cell.ts}")
            if cell.deleted:
                if act.get('deleted') is not True or 'value' in act:
                    out.append(f"{where}: expected a tombstone (deleted:true, no value), got {json.dumps(act)}")
            else:
                if act.get('deleted'):
                    out.append(f"{where}: marked deleted, the CQL writes a value")
                out += check_value(ty, cell.value, act.get('value'), where)
            return out + self.ttl_problems(act, cell.ttl, where)
        # a multi-cell column
        if not cell.elements and cell.cleared is not None:
            # only its deletion: a tombstone at that time, or an empty
            # element list cleared at that time (docs/events.md allows either)
            if act.get('deleted') is True and act.get('ts') == cell.cleared and 'value' not in act:
                return []
            if act.get('cleared_ts') == cell.cleared and act.get('elements') == []:
                return []
            return [f"{where}: expected the column deleted at {cell.cleared}, got {json.dumps(act)}"]
        out = []
        if act.get('cleared_ts') != cell.cleared:
            out.append(f"{where}: cleared_ts {act.get('cleared_ts')}, the CQL says {cell.cleared}")
        els = act.get('elements')
        if not isinstance(els, list) or len(els) != len(cell.elements):
            return out + [f"{where}: {len(els) if isinstance(els, list) else 'no'} elements, the CQL writes {len(cell.elements)}: {json.dumps(act)}"]
        new = []
        for i, (e, a) in enumerate(zip(cell.elements, els)):
            w = f"{where}.elements[{i}]"
            if a.get('ts') != e.ts:
                out.append(f"{w}: ts {a.get('ts')}, the CQL says {e.ts}")
            out += self.ttl_problems(a, e.ttl, w)
            if bool(a.get('deleted')) != e.deleted:
                out.append(f"{w}: deleted is {bool(a.get('deleted'))}, the CQL says {e.deleted}")
            if ty.kind == 'set':
                out += check_value(ty.params[0], e.path, a.get('value'), w + '.value')
                continue
            if ty.kind == 'map':
                out += check_value(ty.params[0], e.path, a.get('key'), w + '.key')
                vt = ty.params[1]
            elif ty.kind == 'udt':
                if a.get('field') != e.path:
                    out.append(f"{w}: field {a.get('field')}, the CQL says {e.path}")
                vt = dict(ty.fields)[e.path]
            else:   # list: the element's identity
                vt = ty.params[0]
                if isinstance(e.path, cm.NewElement) and e.path.uuid is None:
                    new.append((e.path, a.get('index')))
                elif a.get('index') != e.path.uuid:
                    out.append(f"{w}: index {a.get('index')}, the CQL addresses the element {e.path.uuid} (value {e.path.value!r})")
            if e.deleted:
                if 'value' in a:
                    out.append(f"{w}: a removed element carries a value")
            else:
                out += check_value(vt, e.value, a.get('value'), w + '.value')
        if new:
            out += [f"{where}: {p}" for p in cm.check_new_elements(self.model, t.name, key, ck, c, new)]
        return out

    def event_problems(self, x, ev):
        t, u = x.u.table, x.u
        out = []
        if ev['op'] != x.op:
            out.append(f"op {ev['op']}, the contract's op for this change is {x.op}")
        if ev.get('keyspace') != t.keyspace or ev.get('table') != t.name:
            out.append(f"table {ev.get('keyspace')}.{ev.get('table')}")
        out += [p for c, v in zip(t.pk, u.key) for p in check_value(t.types[c], v, ev.get('key', {}).get(c), f"key.{c}")]
        if set(ev.get('key', {})) != set(t.pk):
            out.append(f"key has columns {sorted(ev.get('key', {}))}, expected {t.pk}")
        if x.op == 'delete_range':
            for name, b in (('start', x.start), ('end', x.end)):
                if not b[0]:
                    if name in ev:
                        out.append(f"{name}: present, the CQL leaves that side unbounded")
                    continue
                a = ev.get(name)
                if not isinstance(a, dict):
                    out.append(f"{name}: missing")
                    continue
                cl = a.get('clustering', {})
                if list(cl) != t.ck[:len(b[0])]:
                    out.append(f"{name}.clustering has {list(cl)}, the CQL bounds {t.ck[:len(b[0])]}")
                out += [p for c, v in zip(t.ck, b[0]) for p in check_value(t.types[c], v, cl.get(c), f"{name}.{c}")]
                if a.get('inclusive') is not b[1]:
                    out.append(f"{name}.inclusive is {a.get('inclusive')}, the CQL says {b[1]}")
        elif x.op != 'delete_partition':
            if x.ck == 'static':
                if ev.get('static') is not True:
                    out.append("not marked static")
            else:
                cl = ev.get('clustering', {})
                if set(cl) != set(t.ck):
                    out.append(f"clustering has {sorted(cl)}, expected {t.ck}")
                out += [p for c, v in zip(t.ck, x.ck) for p in check_value(t.types[c], v, cl.get(c), f"clustering.{c}")]
        counter = any(t.types[c].kind == 'counter' for c in t.types)
        if counter:
            if not isinstance(ev.get('ts'), int):
                out.append("no ts")
        elif ev.get('ts') != x.ts:
            out.append(f"ts {ev.get('ts')}, the CQL says {x.ts}")
        # docs/events.md: a removed list element has no CQL form
        list_removal = x.op in ('insert', 'update', 'delete_cells') and x.row is not None and any(
            t.types[c].kind == 'list' and isinstance(v, cm.Complex) and any(e.deleted for e in v.elements)
            for c, v in x.row.cells.items())
        if counter:
            if ev.get('cql') is not None or ev.get('no_cql') != 'counter':
                out.append("a counter event carries cql or no no_cql 'counter' (docs: counters have none)")
        elif list_removal:
            if ev.get('cql') is not None or ev.get('no_cql') != 'list element removal':
                out.append("a list element removal has cql, or no no_cql 'list element removal' (docs: it has no CQL form)")
        elif not isinstance(ev.get('cql'), str) or f"USING TIMESTAMP {x.ts}" not in ev['cql']:
            out.append(f"cql {json.dumps(ev.get('cql'))} has no USING TIMESTAMP {x.ts}")
        if x.op in ('insert', 'update', 'delete_cells'):
            r = x.row
            # docs/events.md: list_append marks a change that adds list elements
            # (its cql is not idempotent); liveness_ts an INSERT's row
            # timestamp when it is older than the event's ts
            appends = any(t.types[c].kind == 'list' and isinstance(v, cm.Complex) and any(not e.deleted for e in v.elements)
                          for c, v in r.cells.items())
            if ev.get('list_append', False) is not appends or ('list_append' in ev and ev['list_append'] is not True):
                out.append(f"list_append is {ev.get('list_append')}, the CQL {'adds' if appends else 'adds no'} list elements")
            want_lts = r.lts if x.op == 'insert' and r.lts != x.ts else None
            if ev.get('liveness_ts') != want_lts:
                out.append(f"liveness_ts {ev.get('liveness_ts')}, the CQL's row timestamp is {r.lts} (event ts {x.ts})")
            if x.op == 'insert':
                out += self.ttl_problems(ev, r.lttl, 'row')
            elif 'ttl' in ev:
                out.append(f"row ttl {ev['ttl']} on a change with no row liveness")
            cells = ev.get('cells', {})
            if set(cells) != set(r.cells):
                out.append(f"cells {sorted(cells)}, the CQL writes {sorted(r.cells)}")
            for c, cell in r.cells.items():
                if c in cells:
                    out += self.cell_problems(t, u.key, x.ck, c, cell, cells[c], f"cells.{c}")
        elif 'cells' in ev and ev['cells']:
            out.append(f"cells on a {x.op}")
        elif 'list_append' in ev or 'liveness_ts' in ev:
            out.append(f"list_append or liveness_ts on a {x.op}")
        return out


def check(case, lines):
    """TAP lines for the events (JSON lines) of one fixture, and the number of failures."""
    out = []
    rel = case.split('fixtures/')[-1]
    ck = Checker(case)
    stmts = [json.loads(l) for l in open(f"{case}/workload.jsonl", encoding='utf-8')]
    events = [json.loads(l, parse_int=raw_int, parse_float=raw_float) for l in lines if l.strip()]
    # statements by each of their timestamps; counters in order
    by_ts, counters = {}, []
    for i, s in enumerate(stmts):
        tss = cm.timestamps_of(s['cql'])
        for x in tss:
            by_ts[x] = i
        if not tss:
            counters.append(i)
    got = {i: [] for i in range(len(stmts))}
    stray, seq = [], []
    ctr_tables = {n.split('.')[1] for n, t in ck.schema.items() if any(ty.kind == 'counter' for ty in t.types.values())}
    ci = {}
    for ev in events:
        i = by_ts.get(ev['ts'])
        if i is None and ev['table'] in ctr_tables:
            # one event per counter row: the k-th counter statement of a row
            k = ci.get(json.dumps(ev['key']), 0)
            ci[json.dumps(ev['key'])] = k + 1
            cand = [j for j in counters if stmts[j]['table'] == ev['table']]
            i = cand[k] if k < len(cand) else None
        if i is None:
            stray.append(ev)
            continue
        got[i].append(ev)
        seq.append(i)
    ordered = all(a <= b for a, b in zip(seq, seq[1:]))
    for ev in stray[:5]:
        out.append(f"# event of no statement: {json.dumps(ev)[:200]}")
    out.append(f"{'ok' if not stray and ordered else 'not ok'} - events {rel}: {len(events)} events, each of one statement "
               f"(by its USING TIMESTAMP), in the statements' order ({len(stray)} strays)")

    per_table = {}
    for i, s in enumerate(stmts):
        updates = ck.model.apply(s['cql'])
        exp = expected_events(updates)
        acts = list(got[i])
        probs = []
        for x in exp:
            t = x.u.table
            want = (x.op if x.op in ('delete_partition', 'delete_range', 'delete_row') else 'row',
                    exp_ck_json(t, getattr(x, 'ck', None)) if x.op != 'delete_range' and x.op != 'delete_partition' else None,
                    exp_bound_json(t, getattr(x, 'start', None)), exp_bound_json(t, getattr(x, 'end', None)))
            match = None
            for a in acts:
                if a['table'] != t.name or key_of(t, a) != exp_key_json(t, x.u.key):
                    continue
                kind, ack, s_, e_ = actual_slot(a, t)
                kind = {'p': 'delete_partition', 'r': 'delete_range', 'd': 'delete_row'}.get(kind, 'row')
                if kind != want[0]:
                    continue
                if kind == 'row' and ack != want[1]:
                    continue
                if kind == 'delete_row' and ack != want[1]:
                    continue
                if kind == 'delete_range' and (s_, e_) != (want[2], want[3]):
                    continue
                match = a
                break
            where = f"{t.name} key={exp_key_json(t, x.u.key)}" + (f" clustering={want[1]}" if want[1] else '') + \
                (f" range {want[2]}..{want[3]}" if x.op == 'delete_range' else '')
            if match is None:
                probs.append(f"no {x.op} event for {where}")
                continue
            acts.remove(match)
            for p in ck.event_problems(x, match):
                probs.append(f"{where}: {p}")
        for a in acts:
            probs.append(f"unexpected event: {json.dumps(a)[:300]}")
        tname = s['table']
        pt = per_table.setdefault(tname, {'n': 0, 'shapes': set(), 'probs': []})
        pt['n'] += 1
        pt['shapes'].add(s['shape'])
        for p in probs:
            pt['probs'].append((i, s, p))
    fails = int(bool(stray) or not ordered)
    for tname in sorted(per_table):
        pt = per_table[tname]
        for i, s, p in pt['probs'][:40]:
            out.append(f"# statement {i} ({s['shape']}): {s['cql'][:160]}\n#   {p}")
        if len(pt['probs']) > 40:
            out.append(f"#   ... {len(pt['probs']) - 40} more")
        fails += bool(pt['probs'])
        out.append(f"{'not ok' if pt['probs'] else 'ok'} - events {rel} {tname}: {pt['n']} statements "
                   f"({', '.join(sorted(pt['shapes']))}) give the events their CQL says"
                   + (f" ({len(pt['probs'])} differences)" if pt['probs'] else ''))
    return out, fails


def main():
    case, evf = sys.argv[1], sys.argv[2]
    lines, fails = check(case, open(evf, encoding='utf-8').read().splitlines())
    print("\n".join(lines))
    sys.exit(1 if fails else 0)


if __name__ == '__main__':
    main()
