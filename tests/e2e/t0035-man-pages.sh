#!/usr/bin/env bash
# The man pages against the code, found generically so that a new command,
# option or key without documentation fails here:
#   - every command of src/cli.c's commands[] table has a section
#     `.SS "cdctail COMMAND"` in man/cdctail.1 and prints its own help, and
#     only its own, for `cdctail COMMAND --help` (exit 0);
#   - every long option of every `struct option` array in src/*.c (and every
#     short option without a long name) is in the section of the command whose
#     entry point holds the array (the table ENTRY below), and in that
#     command's --help;
#   - every getenv() name in src/*.c is in cdctail.1's ENVIRONMENT;
#   - every key of the known_keys[] array (in whichever src/*.c holds it) and
#     every key of docs/run.md's configuration table is a .TP entry of
#     man/cdctail.conf.5;
#   - both pages render with `man --warnings` without a warning, carry the
#     version `cdctail --version` prints, and cdctail --version, -V, version,
#     -h, --help and help behave as other CLIs do.
. "$(dirname "$0")/lib.sh"

if ! command -v man >/dev/null; then
	not_ok "man: man(1) is not installed (man-db)"
	exit 0
fi
for p in man/cdctail.1 man/cdctail.conf.5; do
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" >"$TMP/out" 2>"$TMP/warn"
	rc=$?
	[ -s "$TMP/warn" ] && head -5 "$TMP/warn"
	check "man: $p renders ($(wc -l <"$TMP/out") lines) without a warning" [ $rc = 0 -a -s "$TMP/out" -a ! -s "$TMP/warn" ]
done

ver=$("$CDCTAIL" --version 2>&1)
for a in -V version; do
	check "man: cdctail $a prints what --version prints ($ver), exit 0" \
		sh -c '[ "$("$1" "$2")" = "$3" ]' sh "$CDCTAIL" "$a" "$ver"
done
for p in man/cdctail.1 man/cdctail.conf.5; do
	check "man: $p is the page of $ver (.TH)" grep -q "^\.TH .* \"$ver\" " "$p"
done
for a in -h --help help; do
	if "$CDCTAIL" $a >"$TMP/h" 2>&1 && grep -q '^Usage: cdctail COMMAND' "$TMP/h"; then
		ok "man: cdctail $a prints the overview, exit 0"
	else
		not_ok "man: cdctail $a ($(head -1 "$TMP/h"))"
	fi
done

# The checks on the code, one TAP line each.
CDCTAIL="$CDCTAIL" python3 - <<'PY'
import glob, os, re, subprocess

# entry point holding a `struct option` array -> the commands it serves
# (the first is the section whose options it must list). A new command's
# entry point goes here.
ENTRY = {
    "cmd_dump": ["dump", "decode"],
    "cmd_replay": ["replay"],
    "cdc_run_main": ["run"],
    "parse_args": ["run"],
    "cdc_cleanup_main": ["cleanup"],
    "cdc_schema_export_main": ["schema export"],
    "cdc_snapshot_main": ["snapshot"],
    "relay_parse_args": ["relay"],
    "apply_parse_args": ["apply"],
}

def say(good, msg):
    print(("ok - " if good else "not ok - ") + "man: " + msg)

def unroff(s):
    return s.replace("\\-", "-").replace("\\e", "\\")

page = open("man/cdctail.1").read()
conf = open("man/cdctail.conf.5").read()

# sections of cdctail.1: title -> text (roff escapes undone)
sections, cur = {}, None
for line in page.splitlines():
    m = re.match(r'\.S[SH] "?([^"]*)"?$', line)
    if m:
        cur = m.group(1).strip()
        sections[cur] = ""
    elif cur:
        sections[cur] += unroff(line) + "\n"

srcs = {f: open(f).read() for f in sorted(glob.glob("src/*.c"))}

# 1. commands
cli = srcs["src/cli.c"]
table = re.search(r"commands\[\]\s*=\s*\{(.*?)\n\};", cli, re.S)
commands = re.findall(r'\{\s*"([a-z-]+)",', table.group(1)) if table else []
say(len(commands) >= 6, "the commands table of src/cli.c lists %d commands (%s)" % (len(commands), " ".join(commands)))
words = {"schema": "schema export"}
for c in commands:
    title = "cdctail " + words.get(c, c)
    say(title in sections, "cdctail.1 has a section %s" % title)
    say(("cdctail " + words.get(c, c)) in unroff(page.split(".SH DESCRIPTION")[0]).replace("\n.B ", " ").replace("\n", " ") or
        re.search(r"\.B cdctail %s\b" % words.get(c, c), page) is not None, "cdctail.1's SYNOPSIS has %s" % title)
    args = words.get(c, c).split() + ["--help"]
    p = subprocess.run([os.environ["CDCTAIL"]] + args, capture_output=True, text=True)
    usage_lines = [l for l in p.stdout.splitlines() if l.startswith("Usage:")]
    say(p.returncode == 0 and len(usage_lines) == 1 and usage_lines[0].startswith("Usage: cdctail %s" % words.get(c, c))
        and not re.search(r"^  (%s) " % "|".join(x for x in commands if x != c), p.stdout, re.M),
        "cdctail %s prints that command's help only, exit 0 (%s)" % (" ".join(args), usage_lines[:1]))

# 2. options of every struct option array, by the function that holds it
def enclosing_function(text, pos):
    last = None
    for m in re.finditer(r"^(?:static\s+)?[a-z_][a-z0-9_ \*]*?\b([a-z_][a-z0-9_]*)\s*\([^;{]*\)\s*\{", text[:pos], re.M):
        last = m.group(1)
    return last

nopts = 0
for f, text in srcs.items():
    for m in re.finditer(r"struct option\s+\w+\[\]\s*=\s*\{(.*?)\n\s*\};", text, re.S):
        fn = enclosing_function(text, m.start())
        longs = [(n, v[1] if len(v) == 3 and v[0] == "'" else v)
                 for n, v in re.findall(r'\{\s*"([^"]+)",\s*\w+,\s*[^,]+,\s*([^}]+?)\s*\}', m.group(1))]
        cmds = ENTRY.get(fn)
        if not cmds:
            say(False, "%s: struct option array in %s(), which is not in t0035's ENTRY table" % (f, fn))
            continue
        # short options without a long name, from the getopt_long call after the array
        g = re.search(r'getopt_long\(\s*\w+,\s*\w+,\s*"([^"]*)"', text[m.end():])
        shorts = [ch for ch in re.sub(r"[:+-]", "", g.group(1) if g else "") if ch not in {v for _, v in longs}]
        names = ["--" + n for n, _ in longs] + ["-" + ch for ch in shorts]
        sect = sections.get("cdctail " + cmds[0], "")
        helptext = subprocess.run([os.environ["CDCTAIL"]] + cmds[0].split() + ["--help"], capture_output=True,
                                  text=True).stdout
        for n in names:
            nopts += 1
            pat = r"(?<![\w-])%s(?![\w-])" % re.escape(n)
            say(re.search(pat, sect) is not None, "cdctail.1 section cdctail %s documents %s (%s, %s())" % (cmds[0], n, f, fn))
            if n != "--help":
                say(re.search(pat, helptext) is not None, "cdctail %s --help lists %s" % (cmds[0], n))
say(nopts >= 40, "%d options found in struct option arrays" % nopts)

# 3. environment
env = sections.get("ENVIRONMENT", "")
names = sorted({n for t in srcs.values() for n in re.findall(r'getenv\("([A-Z_]+)"\)', t)})
for n in names:
    say(re.search(r"\b%s\b" % n, env) is not None, "cdctail.1 ENVIRONMENT has %s" % n)
say(len(names) >= 3, "%d environment variables found in getenv() calls" % len(names))

# 4. configuration keys
tp = set()
lines = conf.splitlines()
for i, line in enumerate(lines):
    if line.startswith(".TP") and i + 1 < len(lines):
        tp.update(re.findall(r"[a-z][a-z0-9_.*]*[a-z*]", unroff(lines[i + 1])))
keys = []
for f, text in srcs.items():
    m = re.search(r"(?:known_keys|cdc_settings_keys)\[\]\s*=\s*\{(.*?)\};", text, re.S)
    if m:
        keys += re.findall(r'"([^"]+)"', m.group(1))
say(len(keys) >= 20, "%d keys in known_keys[] of src/*.c" % len(keys))
doc_keys = []
for line in open("docs/run.md"):
    m = re.match(r"\|\s*(`[^|]*`)\s*\|", line)
    if m:
        doc_keys += re.findall(r"`([a-z][a-z0-9_.*]*)`", m.group(1))
say(len(doc_keys) >= 20, "%d keys in docs/run.md's configuration table" % len(doc_keys))
for k in sorted(set(keys) | set(doc_keys)):
    say(k in tp, "cdctail.conf.5 has a .TP entry for %s" % k)

# 5. exit codes
ex = sections.get("EXIT STATUS", "")
say(all(re.search(r"^\.B %d$" % n, page.split(".SH EXIT STATUS")[1].split(".SH")[0], re.M) for n in range(4)),
    "cdctail.1 EXIT STATUS lists 0, 1, 2 and 3")
PY
