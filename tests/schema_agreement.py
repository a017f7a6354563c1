#!/usr/bin/python3
"""Agreement test: JSON Schemas in schemas/ versus the C event checker.

    /usr/bin/python3 tests/schema_agreement.py --event-check PATH --schemas DIR

1. Both schemas (DIR/catalog-event.schema.json, DIR/completion-event.schema.json)
   must be valid JSON Schema 2020-12 documents.
2. Every example DIR/examples/{valid,invalid}/<kind>-*.json (kind = catalog or
   completion, taken from the file name) is
   - loaded strictly (invalid UTF-8, lone surrogates, NaN/Infinity, numbers
     that overflow a double, trailing data or an empty file make it invalid),
   - validated with the 2020-12 schema of its kind,
   - given to the C checker: `PATH <kind> FILE`, which prints `valid` and
     exits 0, or prints `invalid: <field path>: <reason>` and exits 1
     (any other exit status is a crash or usage error).
   A file passes when both verdicts agree, both say valid for files under
   valid/ and invalid for files under invalid/, and the checker's error
   names a reason.  When the name of an invalid example names a field of the
   schema (catalog-missing-content-url, completion-skill-level-9), the
   checker's error must name that field (content.url, skills[0].level);
   errors about the whole message (`$`) and names that name no field
   (catalog-timestamp-hour-24) are not checked this way.
3. The intended divergences (C_ONLY_INVALID below): what the C parser
   refuses on purpose and a JSON Schema cannot express.  Each has one example
   in DIR/examples/c-only-invalid/ (the one over 1 MiB is generated here);
   the schema must accept it and the checker must refuse it with the listed
   field and reason.  The folder holds exactly the listed files.

Regular expressions in the schemas are ECMA-262 (as JSON Schema says), and
Python's `re` differs in two ways that matter here: `$` also matches before
a final newline, and `\\s` is a different set of characters.  The `pattern`
keyword is therefore checked with a translation to ECMA-262 semantics.

Prints one line per check and a final line `N passed, N failed`; exits 1 on
any failure, 2 on a usage error.  Uses the standard library and Debian's
python3-jsonschema (4.10) only.
"""

import argparse
import itertools
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile

try:
    import jsonschema
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError, best_match
except ImportError:  # pragma: no cover
    sys.stderr.write("schema_agreement: python3-jsonschema is required "
                     "(apt-get install python3-jsonschema)\n")
    sys.exit(2)

KINDS = ("catalog", "completion")
SCHEMA_FILES = {
    "catalog": "catalog-event.schema.json",
    "completion": "completion-event.schema.json",
}
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# Intended divergences: the C parser refuses these on purpose; JSON Schema
# has no depth or size limit, and its "date-time" format is an annotation,
# not an assertion.  (example in examples/c-only-invalid/, field, start of the
# reason the checker gives).
C_ONLY_DIR = "c-only-invalid"
OVER_1_MIB = "catalog-over-1-mib.json"   # generated: too big to store
C_ONLY_INVALID = [
    ("catalog-deep-nesting-unknown-field.json", "$",
     "not valid JSON: nested deeper than 64 levels"),
    (OVER_1_MIB, "$", "larger than 1048576 bytes"),
    ("completion-completed-at-2026-02-30.json", "completed_at",
     "must be an RFC 3339 timestamp"),
]

# ECMA-262 WhiteSpace + LineTerminator: what \s matches there.
ECMA_SPACE = ("\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a"
              "\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff")
ECMA_LINE_TERMINATORS = "\\n\\r\\u2028\\u2029"


def ecma_to_python(pattern):
    """Translate an ECMA-262 regex (the subset JSON Schema patterns use) to
    a Python regex with the same meaning: `$` and `^` anchor at the ends of
    the string only, `.` excludes line terminators, and \\s \\S \\d \\D \\w \\W
    match ECMA's (ASCII / Unicode-space) sets."""
    out = []
    in_class = False
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            i += 2
            sets = {"s": ECMA_SPACE, "d": "0-9", "w": "A-Za-z0-9_"}
            if e in sets:
                out.append(sets[e] if in_class else "[" + sets[e] + "]")
            elif e in ("S", "D", "W") and not in_class:
                out.append("[^" + sets[e.lower()] + "]")
            elif e in ("S", "D", "W"):
                raise ValueError("\\%s inside a character class is not "
                                 "supported: %r" % (e, pattern))
            else:
                out.append("\\" + e)
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
            if pattern.startswith("]", i + 1):   # literal ] right after [ or [^
                out.append("\\]")
                i += 1
        elif c == "$":
            out.append("\\Z")
        elif c == "^":
            out.append("\\A")
        elif c == ".":
            out.append("[^" + ECMA_LINE_TERMINATORS + "]")
        else:
            out.append(c)
        i += 1
    return "".join(out)


_regex_cache = {}


def ecma_pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    rx = _regex_cache.get(pattern)
    if rx is None:
        rx = _regex_cache[pattern] = re.compile(ecma_to_python(pattern))
    if not rx.search(instance):
        yield ValidationError("%r does not match %r" % (instance, pattern))


EcmaDraft202012Validator = validators.extend(
    Draft202012Validator, validators={"pattern": ecma_pattern})


class NotJSON(Exception):
    pass


def _reject_constant(name):
    raise NotJSON("non-standard constant %s" % name)


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise NotJSON("number out of range: %s" % text[:40])
    return value


def _check_strings(value):
    """Reject lone surrogates (\\ud800 escapes): not representable in UTF-8."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            v.encode("utf-8")
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            for k, item in v.items():
                k.encode("utf-8")
                stack.append(item)


def load_strict(data):
    """The JSON text in data (bytes) as Python values, or raise NotJSON."""
    try:
        text = data.decode("utf-8")            # strict: invalid UTF-8 fails
        value = json.loads(text, parse_constant=_reject_constant,
                           parse_float=_finite_float)
        _check_strings(value)
        return value
    except NotJSON:
        raise
    except UnicodeError as e:
        raise NotJSON("invalid UTF-8: %s" % e)
    except RecursionError:
        raise NotJSON("nesting too deep")
    except ValueError as e:                    # includes JSONDecodeError
        raise NotJSON(str(e))


def schema_verdict(validator, path):
    """('valid', '') or ('invalid', why) for the example file at path."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        value = load_strict(data)
    except NotJSON as e:
        return "invalid", "not JSON: %s" % e
    error = best_match(validator.iter_errors(value))
    if error is None:
        return "valid", ""
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    message = error.message
    if len(message) > 100:
        message = message[:97] + "..."
    return "invalid", "%s: %s" % (where, message)


def checker_verdict(event_check, kind, path, timeout):
    """('valid'|'invalid', detail) or ('error', what went wrong)."""
    try:
        # own process group, so a hung checker and its children can be ended
        proc = subprocess.Popen([event_check, kind, path], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as e:
        return "error", "cannot run checker: %s" % e
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return "error", "checker timed out after %gs" % timeout
    out = stdout.decode("utf-8", "replace")
    first = out.splitlines()[0].rstrip("\r") if out.strip() else ""
    err = stderr.decode("utf-8", "replace").strip().replace("\n", " | ")
    if len(err) > 200:
        err = err[:197] + "..."
    if proc.returncode == 0:
        if first == "valid":
            return "valid", ""
        return "error", "exit 0 but printed %r (expected 'valid')" % first[:120]
    if proc.returncode == 1:
        if not first.startswith("invalid: "):
            return "error", ("exit 1 but printed %r (expected 'invalid: "
                             "<field path>: <reason>')" % first[:120])
        field, sep, reason = first[len("invalid: "):].partition(": ")
        if not sep or not reason.strip():
            return "error", ("error names no reason: %r (expected "
                             "'invalid: <field path>: <reason>')" % first[:120])
        return "invalid", first[len("invalid: "):]
    if proc.returncode < 0:
        what = "killed by signal %d" % -proc.returncode
    else:
        what = "exit status %d" % proc.returncode
    return "error", "checker crashed or usage error: %s%s" % (
        what, (" (stderr: %s)" % err) if err else "")


def check_schemas(schema_dir):
    """Yields (ok, line) for each schema and fills the validators dict."""
    found = {}
    results = []
    for kind in KINDS:
        path = os.path.join(schema_dir, SCHEMA_FILES[kind])
        name = SCHEMA_FILES[kind]
        try:
            with open(path, "rb") as f:
                schema = load_strict(f.read())
            if not isinstance(schema, dict):
                raise jsonschema.SchemaError("not a JSON object")
            if schema.get("$schema") != DRAFT_2020_12:
                raise jsonschema.SchemaError(
                    "$schema is %r, expected %r" % (schema.get("$schema"), DRAFT_2020_12))
            if not schema.get("$id"):
                raise jsonschema.SchemaError("no $id")
            Draft202012Validator.check_schema(schema)
            # every pattern must translate and compile
            for rx in _patterns(schema):
                re.compile(ecma_to_python(rx))
            found[kind] = EcmaDraft202012Validator(schema)
            results.append((True, "PASS schema %s: valid JSON Schema 2020-12" % name))
        except (OSError, NotJSON, jsonschema.SchemaError, re.error, ValueError) as e:
            msg = getattr(e, "message", None) or str(e)
            results.append((False, "FAIL schema %s: %s" % (name, msg.splitlines()[0] if msg else e)))
    return found, results


def _patterns(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "pattern" and isinstance(v, str):
                yield v
            else:
                yield from _patterns(v)
    elif isinstance(node, list):
        for v in node:
            yield from _patterns(v)


def _tokens(text):
    return text.replace("_", "-").replace(".", "-").split("-")


def _contains(tokens, seq):
    n = len(seq)
    return any(tokens[i:i + n] == seq for i in range(len(tokens) - n + 1))


def _property_names(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict):
                yield from v
            yield from _property_names(v)
    elif isinstance(node, list):
        for v in node:
            yield from _property_names(v)


def field_name_problem(name, c_detail, properties):
    """None when the file name of an invalid example names no schema property,
    the checker's error is about the whole message, or the name names the
    field of the error: a field by its path or a tail of it, each part as
    written, singular or by its first word (skills[0].name: skill-name,
    content.duration_hours: duration).  Else what is wrong."""
    stem = _tokens(name[:-len(".json")])[1:]        # without the kind
    field = c_detail.split(": ", 1)[0]
    if field == "$" or not any(_contains(stem, _tokens(p)) for p in properties):
        return None
    parts = [re.sub(r"\[[0-9]+\]$", "", p) for p in field.split(".")]
    forms = [{tuple(_tokens(p)), tuple(_tokens(p[:-1] if p.endswith("s") else p)),
              (_tokens(p)[0],)} for p in parts]
    for start in range(len(parts)):
        for combo in itertools.product(*forms[start:]):
            if _contains(stem, [t for form in combo for t in form]):
                return None
    return "the file name names another field than the checker's %r" % field


def write_over_1_mib(examples, folder):
    """A valid minimal catalog event padded past 1 MiB in an unknown field;
    returns its path."""
    with open(os.path.join(examples, "valid", "catalog-minimal.json"), "rb") as f:
        event = json.loads(f.read())
    event["x-padding"] = "x" * (1 << 20)
    path = os.path.join(folder, OVER_1_MIB)
    with open(path, "w") as f:
        json.dump(event, f)
    return path


def check_c_only(examples, found, event_check, timeout):
    """(ok, line) for each intended divergence, and for the folder."""
    folder = os.path.join(examples, C_ONLY_DIR)
    listed = {name for name, _, _ in C_ONLY_INVALID if name != OVER_1_MIB}
    stored = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    results = [(stored == listed, "%s %s/: holds exactly the listed divergences%s" % (
        "PASS" if stored == listed else "FAIL", C_ONLY_DIR,
        "" if stored == listed else " (unlisted: %s, missing: %s)" % (
            sorted(stored - listed) or "none", sorted(listed - stored) or "none")))]
    with tempfile.TemporaryDirectory() as tmp:
        for name, field, reason in C_ONLY_INVALID:
            label = "%s/%s" % (C_ONLY_DIR, name)
            if name == OVER_1_MIB:
                path = write_over_1_mib(examples, tmp)
                label += " (generated)"
            else:
                path = os.path.join(folder, name)
            kind = name.split("-", 1)[0]
            if not os.path.isfile(path) or kind not in found:
                results.append((False, "FAIL %s: missing, or no usable schema" % label))
                continue
            s_verdict, s_detail = schema_verdict(found[kind], path)
            c_verdict, c_detail = checker_verdict(event_check, kind, path, timeout)
            want = "%s: %s" % (field, reason)
            ok = s_verdict == "valid" and c_verdict == "invalid" and c_detail.startswith(want)
            results.append((ok, "%s %s: schema accepts, checker refuses with %r "
                            "[schema: %s] [checker: %s]" % (
                                "PASS" if ok else "FAIL", label, want,
                                s_verdict + (" (%s)" % s_detail if s_detail else ""),
                                c_detail if c_verdict == "invalid" else c_verdict)))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--event-check", required=True, metavar="PATH",
                    help="the C checker: PATH catalog|completion FILE")
    ap.add_argument("--schemas", required=True, metavar="DIR",
                    help="directory with the schemas and examples/")
    ap.add_argument("--examples", metavar="DIR",
                    help="examples directory (default: DIR/examples)")
    ap.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS",
                    help="per-file time limit for the checker (default 20)")
    args = ap.parse_args()

    event_check = args.event_check
    if os.sep in event_check:
        event_check = os.path.abspath(event_check)
    if not os.path.isfile(event_check) or not os.access(event_check, os.X_OK):
        sys.stderr.write("schema_agreement: %s is not an executable file\n"
                         % args.event_check)
        return 2
    examples = args.examples or os.path.join(args.schemas, "examples")

    passed = failed = 0
    found, results = check_schemas(args.schemas)
    properties = {kind: set(_property_names(v.schema)) for kind, v in found.items()}
    for ok, line in results:
        print(line, flush=True)
        if ok:
            passed += 1
        else:
            failed += 1

    files = []
    for expected in ("valid", "invalid"):
        folder = os.path.join(examples, expected)
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json")) \
            if os.path.isdir(folder) else []
        if not names:
            print("FAIL %s/: no example files" % folder, flush=True)
            failed += 1
        files.extend((expected, folder, n) for n in names)

    for expected, folder, name in files:
        label = "%s/%s" % (expected, name)
        path = os.path.join(folder, name)
        kind = name.split("-", 1)[0]
        if kind not in KINDS:
            print("FAIL %s: name must start with catalog- or completion-" % label)
            failed += 1
            continue
        problems = []
        if kind in found:
            s_verdict, s_detail = schema_verdict(found[kind], path)
        else:
            s_verdict, s_detail = "error", "schema unusable"
        c_verdict, c_detail = checker_verdict(event_check, kind, path, args.timeout)
        if s_verdict == "error":
            problems.append(s_detail)
        elif s_verdict != expected:
            problems.append("schema says %s%s" % (s_verdict, (" (%s)" % s_detail) if s_detail else ""))
        if c_verdict == "error":
            problems.append(c_detail)
        elif c_verdict != expected:
            problems.append("checker says %s" % c_verdict)
        elif c_verdict == "invalid":
            why = field_name_problem(name, c_detail, properties[kind])
            if why:
                problems.append(why)
        if s_verdict in ("valid", "invalid") and c_verdict in ("valid", "invalid") \
                and s_verdict != c_verdict:
            problems.append("schema and checker disagree")
        if problems:
            failed += 1
            detail = "; ".join(problems)
            if s_verdict == "invalid" and s_detail and s_detail not in detail:
                detail += " [schema: %s]" % s_detail
            if c_verdict == "invalid" and c_detail:
                detail += " [checker: %s]" % c_detail
            print("FAIL %s: %s" % (label, detail), flush=True)
        else:
            passed += 1
            if expected == "valid":
                print("PASS %s: valid for both" % label, flush=True)
            else:
                print("PASS %s: invalid for both [schema: %s] [checker: %s]"
                      % (label, s_detail, c_detail), flush=True)

    for ok, line in check_c_only(examples, found, event_check, args.timeout):
        print(line, flush=True)
        if ok:
            passed += 1
        else:
            failed += 1

    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
