#!/usr/bin/env python3
"""File and symbol names agree.

Every function and type a header under common/ declares (common/lb_foo.h,
common/connectors/lb_foo.h) is named after its module (lb_foo_*, or lb_foo
itself), or after a type that same header defines (lb_outcome_name() beside
the lb_outcome enum); a handle's lifecycle is _new/_destroy and an embedded
value's _init/_release, never _free. A header has its .c beside it unless
it is all static inline.

Exit 0 when every name agrees, 1 with one "file:line: what" per breach. The
checker first runs itself on planted breaches, so it cannot pass by finding
nothing."""
import argparse
import os
import re
import sys

# Names older than the rule that every C programmer reads as meant.
ALLOWED = {"lb_strerror"}

DECL = re.compile(r"^(?!typedef|#|static|extern\s+\"C\")[A-Za-z_][\w\s\*]*?\b(lb_\w+)\s*\(", re.M)
TYPEDEF_END = re.compile(r"}\s*(lb_\w+)\s*;")
TYPEDEF_ONE = re.compile(r"^typedef\s+[^;{(]*?\b(lb_\w+)\s*;", re.M)
TYPEDEF_FN = re.compile(r"^typedef\s+[^;{]*?\(\s*\*\s*(lb_\w+)\s*\)", re.M)
EXTERN = re.compile(r"^extern\s+[^;(]*?\b(lb_\w+)\s*(\[|;)", re.M)


def strip_comments(text):
    """Comments blanked, newlines kept so line numbers hold."""
    return re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def check_header(path, text):
    module = os.path.basename(path)[:-2]
    code = strip_comments(text)
    types = []
    for rx in (TYPEDEF_END, TYPEDEF_ONE, TYPEDEF_FN):
        types += [(m.group(1), m.start(1)) for m in rx.finditer(code)]
    prefixes = [module] + [t for t, _ in types]
    found = []

    def agrees(name):
        return name in ALLOWED or any(name == p or name.startswith(p + "_") for p in prefixes)

    names = [(n, pos, "type") for n, pos in types]
    names += [(m.group(1), m.start(1), "function") for m in DECL.finditer(code)]
    names += [(m.group(1), m.start(1), "object") for m in EXTERN.finditer(code)]
    for name, pos, kind in names:
        where = f"{path}:{line_of(code, pos)}"
        # types name the module's own things in its own words (lb_outcome in
        # lb_classify.h); functions and objects follow the module or a type
        if kind != "type" and not agrees(name):
            found.append(f"{where}: {kind} {name} is not named after its module {module} "
                         f"or a type {module}.h defines")
        if kind == "function" and name.endswith("_free"):
            found.append(f"{where}: {name}: a handle ends with _destroy, a value with _release")
    return found


def check_tree(src):
    found = []
    for sub in ("common", "common/connectors"):
        d = os.path.join(src, sub)
        for f in sorted(os.listdir(d)):
            if f.startswith("lb_") and f.endswith(".h"):
                rel = f"{sub}/{f}"
                with open(os.path.join(d, f), encoding="utf-8") as fh:
                    found += check_header(rel, fh.read())
                if not os.path.exists(os.path.join(d, f[:-2] + ".c")) and \
                        not re.search(r"static inline", open(os.path.join(d, f)).read()):
                    found.append(f"{rel}:1: a header with no {f[:-2]}.c beside it declares "
                                 f"what no file of that name defines")
    return found


def self_test():
    planted = """/* comment naming lb_other_thing() is fine */
typedef struct lb_widget lb_widget;
typedef enum { LB_W_A } lb_widget_kind;
lb_widget *lb_widget_new(void);
void lb_widget_destroy(lb_widget *w);
const char *lb_widget_kind_name(lb_widget_kind k);
void lb_gadget_take(lb_widget *w);
void lb_widget_free(lb_widget *w);
int lb_strerror(int e);
"""
    got = check_header("common/lb_widget.h", planted)
    want = ["lb_gadget_take", "lb_widget_free"]
    ok = len(got) == 2 and all(any(w in g for g in got) for w in want)
    if not ok:
        print("check_names: the checker does not find the planted breaches:", got,
              file=sys.stderr)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    args = ap.parse_args()
    if not self_test():
        return 1
    found = check_tree(args.source_dir)
    for f in found:
        print(f)
    if not found:
        print("check_names: every declared name agrees with its module or a type of it")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
