"""What a fixture's CQL means, computed from the statement text alone: the
partition updates Cassandra must have written for each statement of a
workload.jsonl, with their timestamps, TTLs, cells, collection elements,
tombstones and range deletions (batched ranges merged as Cassandra merges
them: the newest deletion wins on every stretch of the clustering line).

Used by decode_expect.py (t0210: the updates in `cdctail decode`'s hex form)
and events_expect.py (t0215: the JSON events docs/events.md promises). No
code of cdctail's is used; the column types come from the fixture's
schema.json, which is Cassandra's own system_schema.

A list element's identity is a timeuuid the node picks, which no CQL text
holds: a new element is a NewElement placeholder whose `uuid` the checker
fills in from the decoded data once it has checked where the element sits
(an append after every element of the list, a prepend before). Later
statements that address elements by index or by value (`l[2] = v`,
`l = l - [v]`, `DELETE l[0]`) then resolve to those uuids from the list's
state as the CQL left it."""
import datetime
import ipaddress
import re
import struct
from decimal import Decimal

# ---------------------------------------------------------------- types


class Type:
    """A CQL type: kind (native name, 'list', 'set', 'map', 'tuple', 'udt',
    'vector'), its parameters, frozen or not, and for a UDT its fields."""

    def __init__(self, kind, params=(), frozen=False, fields=None, name=None, dim=None):
        self.kind, self.params, self.frozen = kind, list(params), frozen
        self.fields, self.name, self.dim = fields, name, dim

    @property
    def multi_cell(self):
        return self.kind in ('list', 'set', 'map', 'udt') and not self.frozen

    def __repr__(self):
        return f"Type({self.kind}{'/frozen' if self.frozen else ''}{self.params or ''})"


NATIVE = {'ascii', 'bigint', 'blob', 'boolean', 'counter', 'date', 'decimal', 'double', 'duration', 'float',
          'inet', 'int', 'smallint', 'text', 'time', 'timestamp', 'timeuuid', 'tinyint', 'uuid', 'varchar',
          'varint'}


def parse_type(s, udts, frozen=False):
    s = s.strip()
    m = re.match(r'^(\w+)\s*<(.*)>$', s, re.S)
    if not m:
        if s in NATIVE:
            return Type('text' if s == 'varchar' else s)
        fn, ft = udts[s]
        return Type('udt', frozen=frozen, name=s,
                    fields=[(n, parse_type(t, udts, True)) for n, t in zip(fn, ft)])
    outer, inner = m.group(1), split_top(m.group(2))
    if outer == 'frozen':
        return parse_type(inner[0], udts, True)
    if outer == 'vector':
        return Type('vector', [parse_type(inner[0], udts, True)], frozen=True, dim=int(inner[1]))
    # elements of a collection are frozen; a tuple is always frozen
    return Type(outer, [parse_type(x, udts, True) for x in inner], frozen=frozen or outer == 'tuple')


def split_top(s):
    out, depth, cur = [], 0, ''
    for ch in s:
        if ch == '<':
            depth += 1
        elif ch == '>':
            depth -= 1
        if ch == ',' and depth == 0:
            out.append(cur.strip())
            cur = ''
        else:
            cur += ch
    out.append(cur.strip())
    return out


class Table:
    def __init__(self, t, udts):
        self.keyspace, self.name, self.cdc = t['keyspace'], t['table'], t['cdc']
        self.cols = {c['name']: c for c in t['columns']}
        self.types = {c['name']: parse_type(c['type'], udts) for c in t['columns']}
        self.pk = [c['name'] for c in t['columns'] if c['kind'] == 'partition_key']
        self.ck = [c['name'] for c in t['columns'] if c['kind'] == 'clustering']
        self.desc = {c['name']: c['clustering_order'] == 'desc' for c in t['columns']}
        self.static = {c['name'] for c in t['columns'] if c['kind'] == 'static'}


def load_schema(path):
    import json
    s = json.load(open(path))
    udts = {u['name']: (u['field_names'], u['field_types']) for u in s['types']}
    return {f"{t['keyspace']}.{t['table']}": Table(t, udts) for t in s['tables']}

# ---------------------------------------------------------------- CQL text

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*')
  | (?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
  | (?P<blob>0[xX][0-9a-fA-F]*)
  | (?P<dur>-?(?:\d+(?:mo|ms|us|µs|ns|y|w|d|h|m|s))+)(?![\w.])
  | (?P<num>-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)
  | (?P<ident>-?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|[-+=<>(){}\[\],;:.])
""", re.X)


class Tok:
    def __init__(self, kind, text):
        self.kind, self.text = kind, text

    def __repr__(self):
        return f"{self.kind}:{self.text}"


def tokenize(s):
    out, i = [], 0
    while i < len(s):
        m = TOKEN.match(s, i)
        if not m:
            raise ValueError(f"cannot tokenize at {s[i:i + 30]!r}")
        i = m.end()
        k = m.lastgroup
        if k == 'ws':
            continue
        t = m.group(k)
        if k == 'ident' and t.startswith('-') and t not in ('-Infinity', '-NaN'):
            out.append(Tok('op', '-'))
            t, k = t[1:], 'ident'
        out.append(Tok(k, t))
    return out


class Lit:
    """A CQL term: kind 'const' (token), 'null', 'list', 'set', 'map',
    'udt', 'tuple', 'braces' (an empty {})."""

    def __init__(self, kind, v):
        self.kind, self.v = kind, v

    def __repr__(self):
        return f"Lit({self.kind}, {self.v!r})"


class Parser:
    def __init__(self, text):
        self.t, self.i = tokenize(text), 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else Tok('eof', '')

    def next(self):
        tok = self.peek()
        self.i += 1
        return tok

    def word(self, *ws):
        tok = self.peek()
        return tok.kind == 'ident' and tok.text.upper() in ws

    def expect(self, text):
        tok = self.next()
        if tok.text.upper() != text.upper():
            raise ValueError(f"expected {text}, got {tok.text}")
        return tok

    def ident(self):
        tok = self.next()
        if tok.kind != 'ident':
            raise ValueError(f"expected a name, got {tok.text}")
        return tok.text

    def table(self):
        a = self.ident()
        self.expect('.')
        return f"{a}.{self.ident()}"

    def term(self):
        tok = self.peek()
        if tok.text == '[':
            self.next()
            items = self.items(']')
            return Lit('list', items)
        if tok.text == '(':
            self.next()
            return Lit('tuple', self.items(')'))
        if tok.text == '{':
            self.next()
            if self.peek().text == '}':
                self.next()
                return Lit('braces', [])
            if self.peek().kind == 'ident' and self.peek(1).text == ':' and self.peek().text not in ('true', 'false', 'null', 'NaN', 'Infinity'):
                fields = []
                while True:
                    f = self.ident()
                    self.expect(':')
                    fields.append((f, self.term()))
                    if self.next().text == '}':
                        return Lit('udt', fields)
            first = self.term()
            if self.peek().text == ':':
                self.next()
                pairs = [(first, self.term())]
                while self.next().text == ',':
                    k = self.term()
                    self.expect(':')
                    pairs.append((k, self.term()))
                return Lit('map', pairs)
            items = [first]
            while self.next().text == ',':
                items.append(self.term())
            return Lit('set', items)
        self.next()
        if tok.kind == 'ident' and tok.text.lower() == 'null':
            return Lit('null', None)
        return Lit('const', tok)

    def items(self, close):
        out = []
        if self.peek().text == close:
            self.next()
            return out
        while True:
            out.append(self.term())
            if self.next().text == close:
                return out

    def using(self):
        ts = ttl = None
        if self.word('USING'):
            self.next()
            while True:
                w = self.ident().upper()
                v = int(self.next().text)
                if w == 'TIMESTAMP':
                    ts = v
                else:
                    ttl = v
                if not self.word('AND'):
                    break
                self.next()
        return ts, ttl

    def where(self):
        self.expect('WHERE')
        conds = []
        while True:
            col = self.ident()
            op = self.next().text
            conds.append((col, op, self.term()))
            if not self.word('AND'):
                return conds
            self.next()


def parse_statement(text):
    """Splits a statement (a batch into its parts) into dicts:
    {'verb', 'table', 'ts', 'ttl', ...}."""
    p = Parser(text)
    if p.word('BEGIN'):
        p.next()
        if p.word('UNLOGGED', 'LOGGED', 'COUNTER'):
            p.next()
        p.expect('BATCH')
        ts, ttl = p.using()
        out = []
        while not p.word('APPLY'):
            st = one_statement(p)
            if st['ts'] is None:
                st['ts'] = ts
            if st['ttl'] is None:
                st['ttl'] = ttl
            out.append(st)
            p.expect(';')
        return out
    st = one_statement(p)
    return [st]


def one_statement(p):
    verb = p.ident().upper()
    if verb == 'INSERT':
        p.expect('INTO')
        table = p.table()
        p.expect('(')
        cols = [p.ident()]
        while p.next().text == ',':
            cols.append(p.ident())
        p.expect('VALUES')
        p.expect('(')
        vals = p.items(')')
        ts, ttl = p.using()
        return {'verb': 'INSERT', 'table': table, 'values': list(zip(cols, vals)), 'ts': ts, 'ttl': ttl}
    if verb == 'UPDATE':
        table = p.table()
        ts, ttl = p.using()
        p.expect('SET')
        sets = []
        while True:
            col = p.ident()
            if p.peek().text == '[':
                p.next()
                k = p.term()
                p.expect(']')
                p.expect('=')
                sets.append(('element', col, k, p.term()))
            elif p.peek().text == '.':
                p.next()
                f = p.ident()
                p.expect('=')
                sets.append(('field', col, f, p.term()))
            else:
                p.expect('=')
                if p.peek().kind == 'ident' and p.peek().text == col and p.peek(1).text in '+-':
                    p.next()
                    op = p.next().text
                    sets.append(('add' if op == '+' else 'remove', col, None, p.term()))
                else:
                    v = p.term()
                    if p.peek().text == '+':
                        p.next()
                        p.expect(col)
                        sets.append(('prepend', col, None, v))
                    else:
                        sets.append(('set', col, None, v))
            if p.peek().text != ',':
                break
            p.next()
        return {'verb': 'UPDATE', 'table': table, 'sets': sets, 'where': p.where(), 'ts': ts, 'ttl': ttl}
    if verb == 'DELETE':
        targets = []
        while not p.word('FROM'):
            col = p.ident()
            if p.peek().text == '[':
                p.next()
                targets.append(('element', col, p.term()))
                p.expect(']')
            elif p.peek().text == '.':
                p.next()
                targets.append(('field', col, p.ident()))
            else:
                targets.append(('column', col, None))
            if p.peek().text == ',':
                p.next()
        p.expect('FROM')
        table = p.table()
        ts, ttl = p.using()
        return {'verb': 'DELETE', 'table': table, 'targets': targets, 'where': p.where(), 'ts': ts, 'ttl': ttl}
    raise ValueError(f"statement {verb} is not modelled")


def timestamps_of(cql):
    """Every USING TIMESTAMP of a statement's text."""
    return [int(x) for x in re.findall(r'USING TIMESTAMP (-?\d+)', cql)]

# ---------------------------------------------------------------- values

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
DUR_UNITS = {'y': ('mo', 12), 'mo': ('mo', 1), 'w': ('d', 7), 'd': ('d', 1), 'h': ('ns', 3600 * 10**9),
             'm': ('ns', 60 * 10**9), 's': ('ns', 10**9), 'ms': ('ns', 10**6), 'us': ('ns', 10**3),
             'µs': ('ns', 10**3), 'ns': ('ns', 1)}


class Duration(tuple):
    pass


def f32(x):
    return struct.unpack('>f', struct.pack('>f', x))[0]


def value(t, lit):
    """The Python value a CQL literal denotes for type t: ints, floats
    (rounded to float32 for float), Decimal, str, bytes, bool, dates as
    datetime.date, time as nanoseconds, timestamp as ms, Duration(months,
    days, nanos), lists/tuples as lists, sets as sorted lists, maps as sorted
    (key, value) lists, UDTs as dicts by field (None for fields not given)."""
    if lit.kind == 'null':
        return None
    k = t.kind
    if k in ('list', 'vector'):
        return [value(t.params[0], x) for x in lit.v]
    if k == 'set':
        vals = [value(t.params[0], x) for x in lit.v]
        out = []
        for v in sorted(vals, key=lambda v: sort_key(t.params[0], v)):
            if not out or out[-1] != v:
                out.append(v)
        return out
    if k == 'map':
        pairs = [(value(t.params[0], a), value(t.params[1], b)) for a, b in lit.v]
        d = {}
        for a, b in pairs:
            d[a] = b
        return sorted(d.items(), key=lambda kv: sort_key(t.params[0], kv[0]))
    if k == 'tuple':
        return [value(pt, x) for pt, x in zip(t.params, lit.v)]
    if k == 'udt':
        given = dict(lit.v)
        return {n: (value(ft, given[n]) if n in given else None) for n, ft in t.fields}
    tok = lit.v
    s = tok.text
    if k in ('int', 'bigint', 'smallint', 'tinyint', 'varint', 'counter'):
        return int(s)
    if k in ('float', 'double'):
        x = {'NaN': float('nan'), 'Infinity': float('inf'), '-Infinity': float('-inf')}.get(s)
        x = float(s) if x is None else x
        return f32(x) if k == 'float' else x
    if k == 'decimal':
        return Decimal(s)
    if k == 'boolean':
        return s.lower() == 'true'
    if k in ('text', 'ascii'):
        return s[1:-1].replace("''", "'")
    if k == 'blob':
        return bytes.fromhex(s[2:])
    if k in ('uuid', 'timeuuid'):
        return s.lower()
    if k == 'inet':
        return ipaddress.ip_address(s[1:-1])
    if k == 'date':
        return datetime.date.fromisoformat(s[1:-1])
    if k == 'time':
        m = re.match(r"'(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?'", s)
        h, mi, se, frac = m.groups()
        return ((int(h) * 60 + int(mi)) * 60 + int(se)) * 10**9 + int((frac or '').ljust(9, '0'))
    if k == 'timestamp':
        if tok.kind == 'num':
            return int(s)
        m = re.match(r"'(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d)?)(\.\d+)?([+-]\d{4}|Z)?'", s)
        d, hm, frac, tz = m.groups()
        base = datetime.datetime.fromisoformat(f"{d}T{hm}").replace(tzinfo=datetime.timezone.utc)
        if tz and tz != 'Z':
            off = (int(tz[1:3]) * 60 + int(tz[3:5])) * (1 if tz[0] == '+' else -1)
            base -= datetime.timedelta(minutes=off)
        ms = (base - EPOCH) // datetime.timedelta(milliseconds=1)
        return ms + (int(frac[1:4].ljust(3, '0')) if frac else 0)
    if k == 'duration':
        neg = s.startswith('-')
        acc = {'mo': 0, 'd': 0, 'ns': 0}
        for n, u in re.findall(r'(\d+)(mo|ms|us|µs|ns|y|w|d|h|m|s)', s):
            field, mult = DUR_UNITS[u]
            acc[field] += int(n) * mult
        sign = -1 if neg else 1
        return Duration((sign * acc['mo'], sign * acc['d'], sign * acc['ns']))
    raise ValueError(f"no literal rule for {k}")


def sort_key(t, v):
    """Cassandra's order of values of type t (collection elements, clustering)."""
    if t.kind in ('text', 'ascii'):
        return v.encode()
    if t.kind == 'blob':
        return v
    if t.kind == 'uuid':
        return bytes.fromhex(v.replace('-', ''))
    if t.kind == 'boolean':
        return int(v)
    if t.kind == 'date':
        return v.toordinal()
    return v


def serialize(t, v):
    """Cassandra's binary form of a value (for the hex of `cdctail decode`)."""
    k = t.kind
    if k == 'int':
        return struct.pack('>i', v)
    if k == 'bigint':
        return struct.pack('>q', v)
    if k == 'float':
        return struct.pack('>f', v)
    if k in ('text', 'ascii'):
        return v.encode()
    raise ValueError(f"no serializer for {k} (the ops case needs int, bigint, float, text)")

# ---------------------------------------------------------------- updates


class NewElement:
    """A list element a statement creates; its cell path (a timeuuid) is
    learnt from the decoded data. side: 'append' or 'prepend'."""

    def __init__(self, side, value):
        self.side, self.value, self.uuid = side, value, None

    def __repr__(self):
        return f"New({self.side},{self.value!r},{self.uuid})"


class Cell:
    """A simple cell, or an element of a multi-cell column (path: set
    element, map key, UDT field name, or a list element's uuid / NewElement)."""

    def __init__(self, ts, ttl, value, deleted=False, path=None):
        self.ts, self.ttl, self.value, self.deleted, self.path = ts, ttl, value, deleted, path

    def __repr__(self):
        return f"Cell(ts={self.ts},ttl={self.ttl},del={self.deleted},path={self.path!r},v={self.value!r})"


class Complex:
    def __init__(self):
        self.cleared = None   # complex deletion timestamp
        self.elements = []    # Cells with a path


class Row:
    def __init__(self):
        self.lts = self.lttl = self.deleted = None
        self.cells = {}       # column -> Cell or Complex

    def has_data(self):
        return self.lts is not None or self.cells


class Update:
    """One partition update: table, key (values by pk column), partition
    deletion, rows by clustering tuple ('static' for the static row), range
    deletions [(start, end, ts)], start/end being (prefix tuple, inclusive)
    in clustering order."""

    def __init__(self, table, key):
        self.table, self.key = table, key
        self.pdel = None
        self.rows = {}
        self.ranges = []

    def row(self, ck):
        return self.rows.setdefault(ck, Row())


class Model:
    def __init__(self, schema):
        self.schema = schema
        self.lists = {}       # (table, key, ck, col) -> [element], element: .uuid .value
        self.counters = {}    # (table, key, col) -> running total

    # -- a statement: the partition updates it writes, in one mutation per
    #    partition (a batch groups its statements by table and key)
    def apply(self, cql):
        parts = parse_statement(cql)
        ups = {}
        order = []
        for st in parts:
            t = self.schema[st['table']]
            fn = getattr(self, '_' + st['verb'].lower())
            key, ck, slices = self._keys(t, st)
            uk = (st['table'], key)
            if uk not in ups:
                ups[uk] = Update(t, key)
                order.append(uk)
            fn(t, st, ups[uk], key, ck, slices)
        out = []
        for uk in order:
            u = ups[uk]
            if not u.table.cdc:
                continue
            u.ranges = merge_ranges(u.table, u.ranges)
            out.append(u)
        return out

    def _keys(self, t, st):
        if st['verb'] == 'INSERT':
            vals = dict(st['values'])
            key = tuple(value(t.types[c], vals[c]) for c in t.pk)
            ck = tuple(value(t.types[c], vals[c]) for c in t.ck if c in vals)
            return key, ck, None
        eq, rng = {}, {}
        for col, op, lit in st['where']:
            v = value(t.types[col], lit)
            if op == '=':
                eq[col] = v
            else:
                rng.setdefault(col, []).append((op, v))
        key = tuple(eq[c] for c in t.pk)
        ck = []
        for c in t.ck:
            if c not in eq:
                break
            ck.append(eq[c])
        return key, tuple(ck), rng

    def _row_for(self, t, st, u, ck, cols):
        """The row the columns go to: static when they are all static."""
        if cols and all(c in t.static for c in cols):
            return u.row('static'), 'static'
        return u.row(ck), ck

    def _insert(self, t, st, u, key, ck, _):
        ts, ttl = st['ts'], st['ttl']
        vals = [(c, l) for c, l in st['values'] if c not in t.pk and c not in t.ck]
        statics = [(c, l) for c, l in vals if c in t.static]
        regular = [(c, l) for c, l in vals if c not in t.static]
        if len(ck) == len(t.ck):   # a regular row: INSERT gives it a primary key liveness
            r = u.row(ck)
            r.lts, r.lttl = ts, ttl
            for c, lit in regular:
                self._assign(t, u, r, ck, c, lit, ts, ttl)
        if statics:
            r = u.row('static')
            for c, lit in statics:
                self._assign(t, u, r, 'static', c, lit, ts, ttl)

    def _assign(self, t, u, r, ck, c, lit, ts, ttl):
        """`c = literal` (INSERT or SET): a multi-cell column is overwritten,
        its old content deleted at ts - 1."""
        ty = t.types[c]
        v = value(ty, lit)
        if not ty.multi_cell:
            r.cells[c] = Cell(ts, ttl, v, deleted=v is None)
            return
        cx = r.cells.setdefault(c, Complex())
        cx.cleared = ts - 1
        lk = (t.name, u.key, ck, c)
        if ty.kind == 'list':
            self.lists[lk] = []
        if v is None:
            return
        if ty.kind == 'list':
            for x in v:
                e = NewElement('append', x)
                self.lists[lk].append(e)
                cx.elements.append(Cell(ts, ttl, x, path=e))
        elif ty.kind == 'set':
            cx.elements += [Cell(ts, ttl, None, path=x) for x in v]
        elif ty.kind == 'map':
            cx.elements += [Cell(ts, ttl, b, path=a) for a, b in v]
        else:  # UDT: a cell per field given
            cx.elements += [Cell(ts, ttl, fv, path=f) for f, fv in v.items() if fv is not None]

    def _update(self, t, st, u, key, ck, _):
        ts, ttl = st['ts'], st['ttl']
        r, rk = self._row_for(t, st, u, ck, [s[1] for s in st['sets']])
        for kind, c, sub, lit in st['sets']:
            ty = t.types[c]
            lk = (t.name, key, rk, c)
            if kind == 'set':
                self._assign(t, u, r, rk, c, lit, ts, ttl)
                continue
            if ty.kind == 'counter':
                d = value(ty, lit) * (1 if kind == 'add' else -1)
                tot = self.counters.get((t.name, key, c), 0) + d
                self.counters[(t.name, key, c)] = tot
                r.cells[c] = Cell(None, None, tot)
                continue
            cx = r.cells.setdefault(c, Complex())
            if kind == 'element' and ty.kind == 'map':
                kv, vv = value(ty.params[0], sub), value(ty.params[1], lit)
                cx.elements.append(Cell(ts, ttl, vv, deleted=vv is None, path=kv))
            elif kind == 'element':   # list by index: the element's own cell
                e = self.lists[lk][value(Type('int'), sub)]
                vv = value(ty.params[0], lit)
                cx.elements.append(Cell(ts, ttl, vv, deleted=vv is None, path=e))
                e.value = vv
            elif kind == 'field':
                fty = dict(ty.fields)[sub]
                fv = value(fty, lit)
                cx.elements.append(Cell(ts, ttl, fv, deleted=fv is None, path=sub))
            elif kind in ('add', 'prepend'):
                v = value(ty, lit)
                if ty.kind == 'list':
                    new = [NewElement('append' if kind == 'add' else 'prepend', x) for x in v]
                    cur = self.lists.setdefault(lk, [])
                    self.lists[lk] = cur + new if kind == 'add' else new + cur
                    cx.elements += [Cell(ts, ttl, e.value, path=e) for e in new]
                elif ty.kind == 'set':
                    cx.elements += [Cell(ts, ttl, None, path=x) for x in v]
                else:
                    cx.elements += [Cell(ts, ttl, b, path=a) for a, b in v]
            elif kind == 'remove':
                if ty.kind == 'list':   # every element equal to one of the values
                    drop = value(ty, lit)
                    cur = self.lists[lk]
                    gone = [e for e in cur if e.value in drop]
                    self.lists[lk] = [e for e in cur if e.value not in drop]
                    cx.elements += [Cell(ts, None, None, deleted=True, path=e) for e in gone]
                elif ty.kind == 'set':
                    cx.elements += [Cell(ts, None, None, deleted=True, path=x) for x in value(ty, lit)]
                else:   # map - {keys}: a set literal of keys
                    keys = [value(ty.params[0], x) for x in lit.v]
                    cx.elements += [Cell(ts, None, None, deleted=True, path=x) for x in keys]
        for c, cx in r.cells.items():
            if isinstance(cx, Complex):
                cx.elements.sort(key=lambda e: elem_order(t.types[c], e))

    def _delete(self, t, st, u, key, ck, rng):
        ts = st['ts']
        if st['targets']:
            r, rk = self._row_for(t, st, u, ck, [x[1] for x in st['targets']])
            for kind, c, sub in st['targets']:
                ty = t.types[c]
                lk = (t.name, key, rk, c)
                if kind == 'column':
                    if ty.multi_cell:
                        r.cells.setdefault(c, Complex()).cleared = ts
                        if ty.kind == 'list':
                            self.lists[lk] = []
                    else:
                        r.cells[c] = Cell(ts, None, None, deleted=True)
                elif kind == 'element' and ty.kind == 'list':
                    i = value(Type('int'), sub)
                    e = self.lists[lk].pop(i)
                    r.cells.setdefault(c, Complex()).elements.append(Cell(ts, None, None, deleted=True, path=e))
                elif kind == 'element':
                    kv = value(ty.params[0], sub)
                    r.cells.setdefault(c, Complex()).elements.append(Cell(ts, None, None, deleted=True, path=kv))
                else:
                    r.cells.setdefault(c, Complex()).elements.append(Cell(ts, None, None, deleted=True, path=sub))
            return
        if not ck and not rng:
            u.pdel = ts if u.pdel is None else max(u.pdel, ts)
            return
        if len(ck) == len(t.ck):
            u.row(ck).deleted = ts
            return
        # a slice: the equal prefix, and bounds on the next clustering column
        if rng:
            col = t.ck[len(ck)]
            lo = [(op, v) for op, v in rng[col] if op in ('>', '>=')]
            hi = [(op, v) for op, v in rng[col] if op in ('<', '<=')]
            low = (ck + (lo[0][1],), lo[0][0] == '>=') if lo else (ck, True)
            high = (ck + (hi[0][1],), hi[0][0] == '<=') if hi else (ck, True)
            start, end = (high, low) if t.desc[col] else (low, high)
        else:
            start, end = (ck, True), (ck, True)
        u.ranges.append((start, end, ts))


def elem_order(t, e):
    """Cell path order of an element within a multi-cell column."""
    if t.kind == 'udt':
        return [n for n, _ in t.fields].index(e.path)
    if t.kind == 'list':
        return 0   # stable: statement order (appends in literal order)
    return sort_key(t.params[0], e.path)

# ---------------------------------------------------------------- ranges
# A position on the clustering line: (prefix, side), side -1 just before
# every clustering with that prefix, +1 just after them.


def start_pos(b):
    return (b[0], -1 if b[1] else +1)


def end_pos(b):
    return (b[0], +1 if b[1] else -1)


def cmp_pos(t, a, b):
    pa, sa = a
    pb, sb = b
    for i in range(min(len(pa), len(pb))):
        ty = t.types[t.ck[i]]
        ka, kb = sort_key(ty, pa[i]), sort_key(ty, pb[i])
        if ka != kb:
            r = -1 if ka < kb else 1
            return -r if t.desc[t.ck[i]] else r
    if len(pa) == len(pb):
        return (sa > sb) - (sa < sb)
    return sa if len(pa) < len(pb) else -sb


def merge_ranges(t, ranges):
    """Range deletions of one update as Cassandra keeps them: disjoint, in
    clustering order, the newest deletion on every stretch; adjoining
    stretches of one deletion joined."""
    if len(ranges) < 2:
        return ranges
    import functools
    key = functools.cmp_to_key(lambda a, b: cmp_pos(t, a, b))
    pts = []
    for s, e, _ in ranges:
        for p in (start_pos(s), end_pos(e)):
            if all(cmp_pos(t, p, q) != 0 for q in pts):
                pts.append(p)
    pts.sort(key=key)
    pieces = []
    for a, b in zip(pts, pts[1:]):
        ts = None
        for s, e, rts in ranges:
            if cmp_pos(t, start_pos(s), a) <= 0 and cmp_pos(t, b, end_pos(e)) <= 0:
                ts = rts if ts is None else max(ts, rts)
        if ts is None:
            continue
        if pieces and pieces[-1][2] == ts and cmp_pos(t, pieces[-1][1], a) == 0:
            pieces[-1][1] = b
        else:
            pieces.append([a, b, ts])
    return [((a[0], a[1] < 0), (b[0], b[1] > 0), ts) for a, b, ts in pieces]

# ---------------------------------------------------------------- timeuuids


def uuid_time(hexs):
    """The 60-bit timestamp of a version-1 uuid (32 hex digits), or None."""
    if not re.fullmatch(r'[0-9a-f]{32}', hexs or '') or hexs[12] != '1':
        return None
    b = bytes.fromhex(hexs)
    low, mid, hi = int.from_bytes(b[0:4], 'big'), int.from_bytes(b[4:6], 'big'), int.from_bytes(b[6:8], 'big')
    return ((hi & 0x0fff) << 48) | (mid << 32) | low


def check_new_elements(model, table, key, ck, col, pairs):
    """For the new list elements of one cell group (NewElement, the decoded
    uuid hex), in order: records each uuid; returns the problems with their
    places (an append after every element then in the list, a prepend
    before; in the statement's order)."""
    errs = []
    lst = model.lists.get((table, key, ck, col), [])
    for e, u in pairs:
        if uuid_time(u) is None:
            errs.append(f"list element {e.value!r}: path {u} is not a version-1 timeuuid")
            continue
        e.uuid = u
    known = [uuid_time(e.uuid) for e in lst if e.uuid and not any(e is p for p, _ in pairs)]
    new = [(e, uuid_time(u)) for e, u in pairs if uuid_time(u) is not None]
    for i, (e, tm) in enumerate(new):
        if e.side == 'append' and known and tm <= max(known):
            errs.append(f"appended element {e.value!r} sorts before an existing element")
        if e.side == 'prepend' and known and tm >= min(known):
            errs.append(f"prepended element {e.value!r} sorts after an existing element")
        if i and tm <= new[i - 1][1]:
            errs.append(f"element {e.value!r} is not after {new[i - 1][0].value!r} as the literal orders them")
    return errs
