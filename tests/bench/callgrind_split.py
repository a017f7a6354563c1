#!/usr/bin/env python3
"""Instructions per delivered completion from callgrind's output: the
worker's total, the libcurl floor's, ours above it, and ours split by area.

  callgrind_split.py --floor FILE --floor-requests N --events M WORKER_FILE...

FILE: callgrind's output for lb-bench-floor run with
--toggle-collect=run_requests (only its timed part counted), N requests.
WORKER_FILE...: callgrind's output of completion-worker with
--separate-threads=yes (one file per thread), for the window in which it
delivered M completions (scripts: tests/bench/bench_cost.py).

How the split is taken. Each function is either ours (in the worker's own
executable, its source file under common/ or workers/) or not (libcurl,
librdkafka, json-c, libc, ...). Our functions go to an area by their source
file (AREAS; a function whose name says offset or commit goes to
offsets/commit), except helpers (HELPERS: lb_strbuf, lb_table...), which
count for their callers. An area function is charged its own instructions
plus the inclusive cost of each call it makes to a function that is not an
area's (a library, a helper); a call to another area's function is not
charged to the caller, the callee charges itself. Calls into librdkafka are
charged to Kafka consume, or to offsets/commit when the librdkafka function
names offsets or commit (rd_kafka_offsets_store, rd_kafka_commit...); the
calls our HTTP code makes into libcurl are kept apart ("curl used"): the
floor is their counterpart, and "curl in the worker minus the floor" is
what the worker's use of curl costs above the plain program's. When a
library calls back into an area (curl into lb_http's write callbacks,
librdkafka into the rebalance or log callback), that cost is in the outer
call and in the callback: it is taken off the outer call's bucket, guessed
by the library (libcurl's off "curl used", librdkafka's off Kafka,
libmicrohttpd's off metrics, a helper's or libc's off the callback's own
area). What no area function was charged for on a thread is that thread's
rest: on librdkafka's own threads (found by their rd_kafka_* functions) it
is Kafka consume, on libmicrohttpd's metrics, on the main thread "the
rest". Every instruction of the window lands in exactly one row.

What it cannot separate: librdkafka's background threads do fetching and
offset commits alike (a commit's work on the broker thread counts as Kafka
consume, only the loop's side of it as offsets/commit); json-c called by a
helper of ours counts for the helper's caller's area; inlined functions
count where they were inlined; a callback's cost is taken off the bucket its
library suggests, not off the call it really ran under; idle wake-ups of
every thread inside the window (the polls between events) are in the rows.
"""
import argparse
import collections
import os
import re
import sys

# source file (basename, no .c) -> area; other files of ours are helpers
# when listed in HELPERS, else "engine"
AREAS = {
    "lb_kafka": "kafka",
    "lb_event": "parse", "lb_plan": "parse", "lb_json": "parse", "lb_map_degreed": "parse",
    "lb_map_ocn": "parse", "lb_map_xapi": "parse", "lb_conn_degreed": "parse",
    "lb_conn_successfactors": "parse", "lb_conn_xapi": "parse", "lb_content": "parse",
    "lb_route": "parse", "lb_request": "parse", "lb_connector": "parse",
    "lb_http": "http", "lb_client": "http", "lb_tokens": "http", "lb_ratelimit": "http",
    "lb_url": "http", "lb_classify": "http",
    "lb_offsets": "offsets",
    "lb_metrics": "obs", "lb_log": "obs", "lb_obs": "obs",
}
HELPERS = {"lb_strbuf", "lb_hash", "lb_table", "lb_time", "lb_error", "lb_list", "lb_backoff"}
LABELS = [
    ("kafka", "Kafka consume (lb_kafka, librdkafka on the loop's thread and its own threads)"),
    ("parse", "parse and map (lb_event, lb_plan, lb_map_*, connectors, json-c)"),
    ("http", "HTTP above the floor: our code (lb_http, lb_client, tokens; no curl)"),
    ("curl", "HTTP above the floor: curl in the worker minus the floor"),
    ("offsets", "offsets/commit (lb_offsets, the loop's commits)"),
    ("obs", "metrics/logging (lb_metrics, lb_log, lb_obs, the /metrics thread)"),
    ("engine", "the rest (lb_engine: ordering, state, retries; the loop)"),
]

_NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")


class Profile:
    """One callgrind output file: the cost of each function (self) and of
    each call (inclusive), functions keyed by (object, file, name)."""

    def __init__(self, path):
        self.path = path
        self.self_cost = collections.Counter()
        self.calls = collections.Counter()  # (caller, callee) -> inclusive Ir
        self.summary = 0
        self.thread = 1
        self.part = 0
        self.cmd = ""
        names = {"fl": {}, "fn": {}, "ob": {}}
        kind_of = {"fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl", "cfl": "fl",
                   "fn": "fn", "cfn": "fn", "ob": "ob", "cob": "ob"}
        ob = fl = fn = None
        cob = cfl = cfn = None
        in_call = False
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                c = line[0]
                if c.isdigit() or c in "+-*":
                    if in_call:
                        parts = line.split()
                        self.calls[(fn, cfn)] += int(parts[1]) if len(parts) > 1 else 0
                        in_call = False
                    else:
                        parts = line.split()
                        if len(parts) > 1 and fn is not None:
                            self.self_cost[fn] += int(parts[1])
                    continue
                key, sep, value = line.partition("=")
                if sep and key in kind_of:
                    table = names[kind_of[key]]
                    m = _NAMED.match(value)
                    if m:
                        if m.group(2) is not None:
                            table[m.group(1)] = m.group(2)
                        value = table.get(m.group(1), m.group(1))
                    if key == "ob":
                        ob = value
                    elif key == "fl":
                        fl = value
                    elif key == "fn":
                        fn = (ob, fl, value)
                        cob = cfl = None
                    elif key == "cob":
                        cob = value
                    elif key in ("cfi", "cfl"):
                        cfl = value
                    elif key == "cfn":
                        cfn = (cob or ob, cfl or fl, value)
                        cob = cfl = None
                    continue
                if key == "calls":
                    in_call = True
                    continue
                head, _, rest = line.partition(":")
                if head in ("summary", "totals") and rest.strip():
                    self.summary = max(self.summary, int(rest.split()[0]))
                elif head == "thread":
                    self.thread = int(rest)
                elif head == "part":
                    self.part = int(rest)
                elif head == "cmd":
                    self.cmd = rest.strip()

    def functions(self):
        return set(self.self_cost) | {f for pair in self.calls for f in pair}


def module_of(fn):
    """The source module of one of our functions (its file's basename, no
    .c), or None when the function is not ours."""
    ob, fl, _ = fn
    if not ob or not fl or "/common/" not in fl and "/workers/" not in fl:
        return None
    if os.path.basename(ob) not in ("completion-worker", "catalog-worker"):
        return None
    return os.path.splitext(os.path.basename(fl))[0]


def area_of(fn):
    mod = module_of(fn)
    if mod is None or mod in HELPERS:
        return None
    if "offset" in fn[2] or "commit" in fn[2]:  # lb_engine's store_offset, commit_within
        return "offsets"
    return AREAS.get(mod, "engine")


def bucket_of(area, callee):
    """Where the call of an area function to `callee` (not an area's) is
    charged: its area, but libcurl called by HTTP apart ("curl_used") and
    librdkafka's offset calls (rd_kafka_offsets_store, rd_kafka_commit...)
    to offsets, its other calls to Kafka, whoever makes them."""
    lib = library_of(callee)
    if lib == "libcurl" and area == "http":
        return "curl_used"
    if lib == "librdkafka":
        return "offsets" if "offset" in callee[2] or "commit" in callee[2] else "kafka"
    return area


def library_of(fn):
    ob = os.path.basename(fn[0] or "")
    for lib in ("libcurl", "librdkafka", "libjson-c", "libmicrohttpd"):
        if ob.startswith(lib):
            return lib
    return "ours" if module_of(fn) else "other"


def thread_kind(p):
    names = [f[2] for f in p.functions()]
    if p.thread == 1:
        return "main"
    if any(n.startswith("rd_kafka") for n in names):
        return "kafka"
    if any(n.startswith("MHD_") for n in names):
        return "obs"
    return "other"


def split(profiles):
    """Instructions per area over all thread files: a Counter of the areas
    of LABELS plus "curl_used" (our HTTP functions' calls into libcurl) and
    "total"; details inside an area: "kafka_threads" (librdkafka's own
    threads, in Kafka) and "jsonc" (our calls into json-c)."""
    out = collections.Counter()
    for p in profiles:
        charged = 0
        for fn, cost in p.self_cost.items():
            a = area_of(fn)
            if a:
                out[a] += cost
                charged += cost
        for (caller, callee), cost in p.calls.items():
            a, b = area_of(caller), area_of(callee)
            if a and not b:  # ours calling a library or a helper
                out[bucket_of(a, callee)] += cost
                if library_of(callee) == "libjson-c":
                    out["jsonc"] += cost  # (a detail, inside its area)
                charged += cost
            elif b and not a:  # a library (or helper) calling back into an area
                # taken off the outer call's area (guessed by the library;
                # where no charged call was outside it, a thread's entry,
                # it lands in the thread's rest: the sum stays whole)
                back = {"libcurl": "curl_used", "librdkafka": "kafka",
                        "libmicrohttpd": "obs"}.get(library_of(caller), b)
                out[back] -= cost
                charged -= cost
        kind = thread_kind(p)
        rest = p.summary - charged
        out["engine" if kind in ("main", "other") else kind] += rest
        if kind == "kafka":
            out["kafka_threads"] += rest  # (a detail, inside Kafka)
        out["total"] += p.summary
    return out


def rows(worker, events, floor_ir, floor_requests):
    """(label, instructions per event) of the table below, in its order."""
    total = worker["total"] / events
    floor = floor_ir / floor_requests
    per = {k: worker[k] / events for k in worker}
    per["curl"] = per.get("curl_used", 0) - floor
    out = [("completion-worker, all threads, per delivered completion", total),
           ("the floor: libcurl alone, per request (lb-bench-floor)", floor),
           ("ours above the floor", total - floor)]
    for key, label in LABELS:
        out.append(("  " + label, per.get(key, 0)))
    return out


def table(worker, events, floor_ir, floor_requests, out=sys.stdout):
    r = rows(worker, events, floor_ir, floor_requests)
    total = r[0][1]
    per = {k: worker[k] / events for k in worker}
    width = max(len(label) for label, _ in r)
    print(f"{'instructions (callgrind Ir)':{width}} {'per event':>12} {'share':>7}", file=out)
    for label, v in r:
        print(f"{label:{width}} {v:12,.0f} {100 * v / total:6.1f}%", file=out)
    print(f"details per event: curl called by our HTTP code {per.get('curl_used', 0):,.0f}; "
          f"librdkafka's own threads {per.get('kafka_threads', 0):,.0f} (in Kafka); "
          f"json-c {per.get('jsonc', 0):,.0f} (in its callers' areas); "
          f"{events} completions, the floor over {floor_requests} requests", file=out)
    return r


def compare(before, after, out=sys.stdout):
    """Two rows() side by side: before, after and after/before."""
    width = max(len(label) for label, _ in after)
    print(f"{'instructions per event':{width}} {'before':>12} {'after':>12} {'after/before':>13}",
          file=out)
    for (label, b), (_, a) in zip(before, after):
        ratio = f"{a / b:13.2f}" if b > 0 and a >= 0 else f"{'':13}"
        print(f"{label:{width}} {b:12,.0f} {a:12,.0f} {ratio}", file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floor", required=True)
    ap.add_argument("--floor-requests", type=int, required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("worker", nargs="+")
    a = ap.parse_args()
    floor = Profile(a.floor)
    table(split([Profile(w) for w in a.worker]), a.events, floor.summary, a.floor_requests)


if __name__ == "__main__":
    main()
