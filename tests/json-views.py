#!/usr/bin/env python3
"""json-views.py VIEW TEXT JSON

Check that a view's JSON document (mmlab show --json VIEW ...) holds the
same fields as its text (mmlab show VIEW ..., as /proc prints it): every
VMA of maps and smaps with each of its fields, every counter of vmstat
and meminfo.  Both come from one gathering code (src/fs/seq_file.h); this
is where tests/json.sh sees that they agree.  Exit 0, or 1 with the first
difference on stderr.
"""
import json
import re
import sys


def parse_text(view, text):
    lines = [l for l in text.splitlines() if not l.startswith("--- /proc/")]
    if view in ("vmstat", "meminfo"):
        d = {}
        for l in lines:
            m = re.fullmatch(r"(\S+?):?\s+(-?\d+)( kB)?", l)
            if not m:
                raise ValueError("not a %s line: %r" % (view, l))
            d[m.group(1)] = int(m.group(2))
        return d
    vmas = []
    for l in lines:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+) *(.*)$", l)
        if m:
            vmas.append({"start": int(m.group(1), 16), "end": int(m.group(2), 16), "perms": m.group(3),
                         "offset": int(m.group(4), 16), "dev": m.group(5), "inode": int(m.group(6)),
                         "pathname": m.group(7) or None})
            continue
        key, _, rest = l.partition(":")
        if key == "VmFlags":
            vmas[-1][key] = rest.split()
        else:
            vmas[-1][key] = int(rest.split()[0])
    return {"vmas": vmas}


def main():
    view, text, doc = sys.argv[1], open(sys.argv[2]).read(), json.load(open(sys.argv[3]))
    want = parse_text(view, text)
    if want != doc:
        print("the text and the JSON differ:\n  text %s\n  json %s" % (want, doc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
