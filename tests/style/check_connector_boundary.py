#!/usr/bin/env python3
"""The line between the generic engine and the LMS connectors.

The consumer engine (common/lb_engine.c) and the delivery client
(common/lb_client.c), with their headers, must name no LMS: neither include a
mapping or connector header (lb_map_*.h, lb_conn_*.h, anything under
connectors/) nor name an LMS type (degreed, successfactors, ocn, xapi; any
case) in their code, string literals included; comments are not code. What is
specific to one LMS goes through lb_connector.h (docs/connectors.md).

Exit 0 when the files keep the line, 1 with one "file:line: what" per breach.
The detector checks itself first on planted breaches, so it cannot pass by
finding nothing."""
import argparse
import os
import re
import sys

GUARDED = ["common/lb_engine.c", "common/lb_engine.h",
           "common/lb_client.c", "common/lb_client.h"]
LMS_NAME = re.compile(r"degreed|successfactors|xapi|(?<![a-z])ocn(?![a-z])", re.I)
BAD_INCLUDE = re.compile(r'#\s*include\s*[<"]([^>"]*)[>"]')


def strip_comments(text):
    """The text with comments blanked (newlines kept, so lines still count);
    string and character literals are kept as they are."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def breaches(name, text):
    found = []
    for lineno, line in enumerate(strip_comments(text).splitlines(), 1):
        m = BAD_INCLUDE.search(line)
        if m:
            inc = m.group(1)
            base = os.path.basename(inc)
            if (base.startswith("lb_map_") or base.startswith("lb_conn_")
                    or "connectors/" in inc):
                found.append(f"{name}:{lineno}: includes a connector's header \"{inc}\"")
                continue
        m = LMS_NAME.search(line)
        if m:
            found.append(f"{name}:{lineno}: names an LMS (\"{m.group(0)}\"): "
                         "put it behind lb_connector.h")
    return found


def self_test():
    planted = {
        '#include "lb_map_ocn.h"\n': 1,
        '#include "connectors/lb_conn_x.h"\n': 1,
        'if (in->type != LB_INTEG_SUCCESSFACTORS) return;\n': 1,
        'd->step == LB_STEP_OCN_COURSE;\n': 1,
        'lb_log(LB_LOG_DEBUG, "Degreed says", NULL);\n': 1,
        'static int xApi_thing;\n': 1,
        '/* OCN courses, Degreed ids */ int x;\n': 0,
        '// xapi\nint y; /* multi\n line degreed */ int z;\n': 0,
        'const char *s = "/* not a comment: degreed */";\n': 1,
        'int rocnt, socnet;\n': 0,
        '#include "lb_connector.h"\n': 0,
    }
    ok = True
    for text, want in planted.items():
        got = len(breaches("planted", text))
        if got != want:
            print(f"self-test: {text!r}: {got} breaches found, {want} expected")
            ok = False
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    a = ap.parse_args()
    if not self_test():
        print("FAIL: the detector itself is wrong")
        return 1
    found = []
    for rel in GUARDED:
        with open(os.path.join(a.source_dir, rel), encoding="utf-8") as f:
            found += breaches(rel, f.read())
    for line in found:
        print(line)
    if found:
        print(f"FAIL: {len(found)} places name an LMS outside the connectors")
        return 1
    print(f"ok: {', '.join(GUARDED)} name no LMS and include no connector header")
    return 0


if __name__ == "__main__":
    sys.exit(main())
