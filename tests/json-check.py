#!/usr/bin/env python3
"""json-check.py SCHEMA [EXPR...] < DOCUMENT

Validate the JSON document on stdin against the JSON Schema SCHEMA (the
schema itself checked first), then evaluate each EXPR, a Python
expression over the document `d`, which must be true.  Exit 0 if all
hold; 1 with what failed on stderr.  tests/json.sh runs it on the output
of each `mmlab ... --json`; the document is parsed by Python's json
module and checked by python3-jsonschema, not by anything of mmlab's.
"""
import json
import sys

import jsonschema


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    text = sys.stdin.read()
    try:
        # one document, on one line (docs/json.md)
        if text.count("\n") != 1 or not text.endswith("\n"):
            raise ValueError("not one line ending in a newline")
        d = json.loads(text)
    except ValueError as e:
        print("not a JSON document: %s: %r" % (e, text[:200]), file=sys.stderr)
        return 1
    errors = sorted(cls(schema).iter_errors(d), key=lambda e: list(e.path))
    for e in errors:
        print("%s: at /%s: %s" % (sys.argv[1], "/".join(map(str, e.path)), e.message[:300]),
              file=sys.stderr)
    if errors:
        return 1
    for expr in sys.argv[2:]:
        if not eval(expr, {"d": d}):
            print("does not hold: %s" % expr, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
