#!/usr/bin/env python3
"""The catalog state in Kafka (<topic>.state): what catalog-worker
delivered survives the process.

1. A delivery writes its state record (key <integration>/<item>, version,
   fingerprint, LMS id), to the state partition numbered like the source.
   A worker whose state topic does not exist, or has another partition
   count than the source, does not start.
2. The restart sequence: a worker delivers X v5 and stops; a new process
   reads X v3, X v5 again and X v6: Degreed gets no POST, no 409, no PATCH
   of v3, nothing for v5 and exactly one PATCH of v6 on the id it knew;
   SuccessFactors (OCN) gets nothing for v5 again and v6 once.
3. A large state (5,000 records and two malformed ones) is read before the
   partitions are worked on: /readyz answers 503 until then (on
   kafka-sandbox the state partitions are made leaderless, so the restore
   cannot end until the test lets it), nothing is delivered before, the
   malformed records are skipped with a warning, and an older version of a
   restored item is skipped, and an item archived before the restart keeps
   its version (an upsert of that version does not bring it back, a newer
   one does). The restore time is printed (INFO).
4. Resync: the customer wipes its Degreed catalog; dlq-replay resync
   republishes each item's newest record targeted at that integration
   (lmsbridge.resync), to the partition of its source; the worker sends
   them again although they are unchanged, never an older version, and
   nothing to the other integration.
5. A reload (SIGHUP, kafka section unchanged: the same partitions) reads
   the state again: the item delivered before stays unchanged.
6. A resync the LMS refuses (400) is dead-lettered with lmsbridge.resync;
   dlq-replay replays it as a resync: sent although unchanged since the
   first resync."""
import json
import re
import os
import signal
import subprocess
import threading
import time
import uuid
from datetime import datetime

from catalog_fixtures import (catalog_event, degreed, degreed_api, degreed_items, ocn_courses,
                              sf_integration, sf_tenant)
from harness import (Env, WORKERS, check, degreed_tenant, die_with_test, dlq_replay, finish,
                     ns, wait_for, worker_config_path, REAL)

SECRET = "e2e-catalog-state-secret-5"
TOPIC = ns("catalog-events")
STATE = f"{TOPIC}.state"
UNEVEN = f"{TOPIC}.state3"   # a state topic not co-partitioned with the source
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1", f"{STATE}:2", f"{UNEVEN}:3"]
N_STATE = 5000
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def info(msg):
    print("INFO", msg, flush=True)


def ts(text):
    """Seconds since the epoch of an RFC 3339 time with a Z."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def metric(w, integ, outcome):
    return w.metric("lmsbridge_deliveries_total", integration=integ, outcome=outcome)


def state_records(env):
    """{key: [(partition, value or None), ...]} of the state topic, in offset
    order per partition."""
    out = {}
    for r in env.consume_all(STATE):
        out.setdefault(r["key"], []).append(
            (r["partition"], json.loads(r["payload"]) if r["payload"] else None))
    return out


def source_partition(env, key):
    return {r["partition"] for r in env.consume_all(TOPIC) if r["key"] == key}


def seq(env, tenant):
    reqs = env.lms_requests(tenant)
    return reqs[-1]["seq"] if reqs else 0


def requests_since(env, tenant, since):
    return [r for r in env.lms_requests(tenant) if r["seq"] > since and
            "/oauth/" not in r["path"] and "/token" not in r["path"]]


def titles_sent_ocn(reqs, course):
    """Titles of `course` in the OCN course POSTs among reqs."""
    out = []
    for r in reqs:
        body = r.get("body") if isinstance(r.get("body"), dict) else {}
        for c in body.get("ocnCourses") or []:
            if c.get("courseID") == course:
                out.append(c["title"][0]["value"])
    return out


def log_lines(w, msg):
    """The worker's log lines whose message is msg, or starts with msg + ":"."""
    return [l for l in w.logs() if l.get("msg") == msg or l.get("msg", "").startswith(msg + ":")]


env = Env(TOPICS, [degreed_tenant("acme", SECRET), sf_tenant("globex", SECRET, "GLOBEX")])
workers = []
try:
    integs = ", ".join([
        degreed(env, "acme-degreed", "acme", "acme", "SECRET", "catalog = { public = true; };"),
        sf_integration(env, "globex-sf", "globex", "globex", "GLOBEX", "SECRET",
                       "catalog = { public = true; }; batch_linger_ms = 0;"
                       " min_post_interval_s = 0;"),
    ])

    def start():
        w = env.worker("catalog-worker", integs, env={"SECRET": SECRET})
        workers.append(w)
        return w

    # ---- 1. a delivery writes its state record ----------------------------
    w1 = start()
    env.produce_many(TOPIC, [catalog_event("course", "77", 5), catalog_event("project", "5", 1)])
    wait_for(lambda: len(state_records(env)) >= 4, 60, "four state records")
    recs = state_records(env)
    x_part = source_partition(env, "course-77")
    deg_id = next(c["id"] for c in env.state("acme")["degreed"]["courses"]
                  if c["attributes"]["external-id"] == "course-77")
    a, g = recs.get("acme-degreed/course-77"), recs.get("globex-sf/course-77")
    check(sorted(recs) == ["acme-degreed/course-77", "acme-degreed/project-5",
                           "globex-sf/course-77", "globex-sf/project-5"],
          f"one state record per (integration, item), keyed <integration>/<item>: {sorted(recs)}")
    check(a and g and len(x_part) == 1 and {a[-1][0], g[-1][0]} == x_part,
          f"X's state records are in the partition numbered like its source {x_part}: "
          f"{a and a[-1][0]}, {g and g[-1][0]}")
    av, gv = a[-1][1], g[-1][1]
    check(av["v"] == 1 and av["version"] == 5 and av["lms_id"] == deg_id and
          UUID_RE.match(av["fingerprint"]) and av["archived"] is False and
          av["delivered_at"].endswith("Z"),
          f"Degreed's record: version 5, the Degreed id {deg_id}, a fingerprint: {av}")
    check(gv["version"] == 5 and gv["lms_id"] is None and UUID_RE.match(gv["fingerprint"]) and
          gv["fingerprint"] != av["fingerprint"],
          f"OCN's record: version 5, no LMS id, its own fingerprint: {gv}")
    w1.stop_and_check("the first catalog-worker")
    # a state topic missing, or not co-partitioned: the worker does not start
    for name, want in [(f"{TOPIC}.nope",
                        f'topic "{TOPIC}.nope" (kafka.state_topic) does not exist'),
                       (UNEVEN, f"topics are not co-partitioned: {TOPIC} has 2 partitions, "
                                f"{TOPIC}.retry has 2, {UNEVEN} has 3 (kafka.topics, "
                                f"kafka.retry_topic, kafka.state_topic)")]:
        conf = os.path.join(env.dir, f"{name}.conf")
        with open(worker_config_path(w1)) as f, open(conf, "w") as g:
            g.write(f.read().replace("kafka: {", f'kafka: {{ state_topic = "{name}";', 1))
        p = subprocess.run([WORKERS["catalog-worker"], "--config", conf], capture_output=True,
                           text=True, timeout=120, env=dict(os.environ, SECRET=SECRET),
                           preexec_fn=die_with_test)
        errors = [json.loads(l).get("error", "") for l in p.stderr.splitlines()
                  if l.startswith("{") and json.loads(l).get("level") == "error"]
        check(p.returncode == 1 and len(errors) == 1 and want in errors[0],
              f"state topic {name}: exit 1, saying so ({p.returncode}) {errors}")

    # ---- 2. the restart sequence -------------------------------------------
    acme0, globex0 = seq(env, "acme"), seq(env, "globex")
    w2 = start()
    wait_for(lambda: w2.get("/readyz")[0] == 200, 120, "the second worker ready")
    restored = log_lines(w2, "catalog state restored")
    check(sorted(l["partition"] for l in restored) == [0, 1] and
          sum(l["records"] for l in restored) == 4,
          f"the new process read both state partitions (4 records) before it was ready: "
          f"{[(l['partition'], l['records']) for l in restored]}")
    env.produce_many(TOPIC, [catalog_event("course", "77", 3), catalog_event("course", "77", 5),
                             catalog_event("course", "77", 6)])
    for integ in ("acme-degreed", "globex-sf"):
        wait_for(lambda: metric(w2, integ, "skipped") >= 1 and
                 metric(w2, integ, "unchanged") >= 1 and metric(w2, integ, "success") >= 1,
                 60, f"{integ}: v3 skipped, v5 unchanged, v6 delivered")
    for integ in ("acme-degreed", "globex-sf"):
        got = (metric(w2, integ, "skipped"), metric(w2, integ, "unchanged"),
               metric(w2, integ, "success"))
        check(got == (1, 1, 1), f"{integ}: one skipped (v3), one unchanged (v5), one success "
                                f"(v6): {got}")
    deg_reqs = requests_since(env, "acme", acme0)
    calls = [(r["method"], r["path"].split("/api/v2/")[-1], r["status"]) for r in deg_reqs]
    patch_title = (deg_reqs[0].get("body") or {}).get("data", {}).get("attributes", {}).get(
        "title", "") if deg_reqs else ""
    check(calls == [("PATCH", f"content/courses/{deg_id}", 200)] and
          patch_title.startswith("course 77 v6 "),
          f"Degreed: exactly one PATCH of v6 on the known id, no POST, no 409, no look-up, "
          f"nothing for v3 or v5: {calls}")
    ocn = titles_sent_ocn(requests_since(env, "globex", globex0), "course-77")
    check(len(ocn) == 1 and ocn[0].startswith("course 77 v6"),
          f"SuccessFactors: v6 once, nothing for v5 again: {ocn}")
    reasons = {(l.get("integration"), l.get("reason"), l.get("version"))
               for l in log_lines(w2, "not sent")}
    check({("acme-degreed", "unchanged", 5), ("globex-sf", "unchanged", 5),
           ("acme-degreed", "older than the version already delivered", 3),
           ("globex-sf", "older than the version already delivered", 3)} <= reasons,
          f"logged: not sent, v5 unchanged and v3 older, for both: {sorted(map(str, reasons))}")
    wait_for(lambda: state_records(env)["acme-degreed/course-77"][-1][1]["version"] == 6 and
             state_records(env)["globex-sf/course-77"][-1][1]["version"] == 6, 60,
             "the state records of v6")
    check(state_records(env)["acme-degreed/course-77"][-1][1]["lms_id"] == deg_id,
          "the state keeps the Degreed id")
    # course 99: created, then archived at v2
    env.produce_many(TOPIC, [catalog_event("course", "99", 1),
                             catalog_event("course", "99", 2, etype="content.archived")])
    wait_for(lambda: all((state_records(env).get(f"{i}/course-99") or [(0, {})])[-1][1]
                         .get("archived") for i in ("acme-degreed", "globex-sf")), 60,
             "course 99 archived")
    check(degreed_items(env.state("acme"))["course-99"].get("obsolete") is True and
          state_records(env)["acme-degreed/course-99"][-1][1]["version"] == 2,
          "course 99 archived at v2: obsolete in Degreed, archived in the state")
    w2.stop_and_check("the second catalog-worker")

    # ---- 3. a large state, restored before anything is worked on -----------
    for p in (0, 1):
        env.produce_many(STATE, [
            (f"acme-degreed/course-s{i}", json.dumps({
                "v": 1, "version": 1, "fingerprint": str(uuid.uuid5(uuid.NAMESPACE_URL, str(i))),
                "lms_id": f"deg-s{i}", "delivered_at": "2026-11-20T10:00:00.000Z",
                "archived": False}, separators=(",", ":")))
            for i in range(p, N_STATE, 2)], partition=p)
    env.produce_many(STATE, [("acme-degreed/course-bad", "not json"),
                             ("no-slash-key", json.dumps({"v": 1}))], partition=0)
    total_state = sum(env.end_offsets(STATE).values())
    # Z waits in the source topic: delivered only after the restore
    env.produce_many(TOPIC, [catalog_event("course", "88", 1)])
    z_part = source_partition(env, "course-88").pop()
    samples = []      # (start, end, status) of /readyz probes
    if not REAL:
        for p in (0, 1):
            code, body = env.kafka_control("POST", f"/partitions/{STATE}/{p}/leader?broker=none")
            check(code == 200, f"set-up: state partition {p} leaderless ({code} {body})")
    w3 = start()
    done = threading.Event()

    def probe():
        while not done.is_set():
            t0 = time.time()
            code = w3.get("/readyz")[0]
            samples.append((t0, time.time(), code))
            if code == 200:
                return
            time.sleep(0.01)
    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    if not REAL:
        wait_for(lambda: w3.metric("lmsbridge_assigned_partitions", topic=TOPIC) == 2, 120,
                 "the partitions assigned")
        since = len(samples)
        for _ in range(20):   # a while with the restore blocked
            time.sleep(0.1)
        blocked = samples[since:]
        check(blocked and all(c == 503 for _, _, c in blocked) and
              not log_lines(w3, "catalog state restored") and
              not [r for r in requests_since(env, "acme", 0) if "course-88" in json.dumps(r)],
              f"state unreadable: the member holds its partitions but is not ready "
              f"({len(blocked)} probes, all 503) and delivers nothing")
        for p in (0, 1):
            env.kafka_control("POST", f"/partitions/{STATE}/{p}/leader?broker=1")
    prober.join(180)
    done.set()
    check(samples and samples[-1][2] == 200, "ready once the state is read")
    starts = log_lines(w3, "restoring the catalog state")
    ends = log_lines(w3, "catalog state restored")
    n = sum(l["records"] for l in ends)
    check(sorted(l["partition"] for l in ends) == [0, 1] and n == total_state and
          w3.metric("lmsbridge_state_restored_records_total") == total_state,
          f"every state record read: {n} of {total_state}")
    warned = log_lines(w3, "malformed state record skipped")
    check(sum(l["malformed"] for l in ends) == 2 and len(warned) == 2 and
          all(l["level"] == "warn" for l in warned),
          f"the two malformed records skipped, each with a warning: "
          f"{[l.get('error') for l in warned]}")
    end_ts = max(ts(l["ts"]) for l in ends)
    early = [s for s in samples if s[2] == 200 and s[1] < end_ts]
    during = [s for s in samples if s[0] >= min(ts(l["ts"]) for l in starts) and s[1] <= end_ts]
    check(not early and all(c == 503 for _, _, c in during),
          f"/readyz: 503 while restoring ({len(during)} probes in the restore), 200 only after")
    wait_for(lambda: metric(w3, "acme-degreed", "success") >= 1, 60, "course 88 delivered")
    z_ts = min(ts(r["timestamp"]) for r in requests_since(env, "acme", 0)
               if "course-88" in json.dumps(r))
    z_restored = ts(next(l["ts"] for l in ends if l["partition"] == z_part))
    check(z_ts >= z_restored, f"course 88 (partition {z_part}) went out after its state "
                              f"partition was read ({z_ts - z_restored:.3f} s after)")
    secs = {l["partition"]: l["seconds"] for l in ends}
    span = end_ts - min(ts(l["ts"]) for l in starts)
    info(f"restore of {n} state records ({'Apache Kafka' if REAL else 'kafka-sandbox'}): "
         f"partition seconds {secs}, {span:.3f} s from the first start to the last end"
         + ("" if REAL else " (the test held the partitions leaderless for about 2 s of it)")
         + f"; {len(during)} /readyz probes answered 503 meanwhile")
    # a restored item: an older version is skipped
    skipped0 = metric(w3, "acme-degreed", "skipped")
    env.produce_many(TOPIC, [catalog_event("course", "s7", 0)])
    wait_for(lambda: metric(w3, "acme-degreed", "skipped") > skipped0, 60, "course s7 v0")
    check(not [r for r in requests_since(env, "acme", 0) if "course-s7" in json.dumps(r)],
          "course s7 v0 is older than the restored v1: skipped, nothing sent")
    # course 99, archived at v2 before the restart: an upsert of v2 (a replay
    # of the version it archived) is not sent, v3 is
    acme3, globex3 = seq(env, "acme"), seq(env, "globex")
    skipped0 = {i: metric(w3, i, "skipped") for i in ("acme-degreed", "globex-sf")}
    env.produce_many(TOPIC, [catalog_event("course", "99", 2)])
    for i in skipped0:
        wait_for(lambda: metric(w3, i, "skipped") > skipped0[i], 60, f"{i}: course 99 v2")
    archived = {l.get("integration") for l in log_lines(w3, "not sent")
                if l.get("reason") == "archived at this version or a newer one"}
    check(archived == {"acme-degreed", "globex-sf"} and
          not requests_since(env, "acme", acme3) and
          not titles_sent_ocn(requests_since(env, "globex", globex3), "course-99"),
          f"course 99 v2 upsert after its v2 archive: not sent, for both ({archived})")
    success0 = metric(w3, "acme-degreed", "success")
    env.produce_many(TOPIC, [catalog_event("course", "99", 3)])
    wait_for(lambda: metric(w3, "acme-degreed", "success") > success0, 60, "course 99 v3")
    c99 = degreed_items(env.state("acme"))["course-99"]
    check(c99.get("obsolete") is False and c99["title"].startswith("course 99 v3 "),
          "course 99 v3: a newer version brings the archived item back")

    # ---- 4. resync ----------------------------------------------------------
    for c in env.state("acme")["degreed"]["courses"]:
        code, _ = degreed_api(env, "acme", SECRET, "DELETE", f"/api/v2/content/courses/{c['id']}")
        check(code == 204, f"set-up: the customer deletes {c['attributes']['external-id']}")
    check(degreed_items(env.state("acme")) == {}, "set-up: acme's Degreed catalog is empty")
    ends0 = env.end_offsets(TOPIC)
    conf = worker_config_path(w3)
    rc, out, err = dlq_replay("resync", "--worker", "catalog-worker", "--config", conf, "--integration", "acme-degreed",
                              "--dry-run", env={"SECRET": SECRET})
    plan = out[0] if out else {}
    check(rc == 0 and plan.get("summary") == "dry-run" and plan.get("items") == 5 and
          plan.get("to_send") == 5 and env.end_offsets(TOPIC) == ends0,
          f"resync --dry-run: 5 items to send (77, 99, project 5, 88, s7), nothing sent: "
          f"{plan} {err}")
    rc, out, err = dlq_replay("resync", "--worker", "catalog-worker", "--config", conf, "--integration", "acme-degreed",
                              env={"SECRET": SECRET})
    check(rc == 2 and "pass --yes" in err and env.end_offsets(TOPIC) == ends0,
          "resync without a terminal or --yes sends nothing (exit 2)")
    acme1, globex1 = seq(env, "acme"), seq(env, "globex")
    success0, skipped0 = metric(w3, "acme-degreed", "success"), metric(w3, "acme-degreed",
                                                                        "skipped")
    unchanged0 = metric(w3, "acme-degreed", "unchanged")
    rc, out, err = dlq_replay("resync", "--worker", "catalog-worker", "--config", conf, "--integration", "acme-degreed",
                              "--yes", env={"SECRET": SECRET})
    summary = out[-1] if out else {}
    check(rc == 0 and summary.get("summary") == "resync" and summary.get("acknowledged") == 5,
          f"resync: 5 records republished and acknowledged: {summary} {err[-500:]}")
    new = [r for r in env.consume_all(TOPIC) if r["offset"] >= ends0.get(r["partition"], 0)]
    originals = {}
    for r in env.consume_all(TOPIC):
        if r["offset"] < ends0.get(r["partition"], 0):
            originals.setdefault(r["key"], set()).add(r["partition"])
    check(len(new) == 5 and all(r["headers"].get("lmsbridge.target") == "acme-degreed" and
                                r["headers"].get("lmsbridge.resync") == "true" and
                                originals.get(r["key"]) == {r["partition"]} for r in new) and
          sorted(json.loads(r["payload"])["version"] for r in new) == [0, 1, 1, 3, 6],
          f"each item's newest record, targeted at acme-degreed, marked resync, in its source "
          f"partition: {[(r['key'], r['partition'], r['headers']) for r in new]}")
    wait_for(lambda: metric(w3, "acme-degreed", "success") - success0 >= 4 and
             metric(w3, "acme-degreed", "skipped") - skipped0 >= 1, 60, "the resync delivered")
    items = degreed_items(env.state("acme"))
    check(sorted(items) == ["course-77", "course-88", "course-99", "project-5"] and
          items["course-77"]["title"].startswith("course 77 v6 ") and
          items["course-99"]["title"].startswith("course 99 v3 "),
          f"Degreed holds the catalog again, the newest versions: {sorted(items)}")
    check(metric(w3, "acme-degreed", "unchanged") == unchanged0 and
          metric(w3, "acme-degreed", "skipped") - skipped0 == 1,
          "the resync bypasses the unchanged check, never the version check (s7 v0 skipped)")
    check(requests_since(env, "globex", globex1) == [],
          "SuccessFactors is sent nothing by a resync of acme-degreed")

    # ---- 5. a reload reads the state again ---------------------------------
    n_restored = len(log_lines(w3, "catalog state restored"))
    unchanged0 = metric(w3, "acme-degreed", "unchanged")
    w3.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(log_lines(w3, "catalog state restored")) >= n_restored + 2, 120,
             "the state read again after the reload")
    wait_for(lambda: w3.get("/readyz")[0] == 200, 120, "ready after the reload")
    check(any(l.get("msg") == "drained for the reload" for l in w3.logs()),
          "the reload kept the engine and its partitions")
    acme2 = seq(env, "acme")
    env.produce_many(TOPIC, [catalog_event("course", "77", 6)])
    wait_for(lambda: metric(w3, "acme-degreed", "unchanged") > unchanged0, 60,
             "course 77 v6 after the reload")
    check(requests_since(env, "acme", acme2) == [],
          "after the reload, course 77 v6 (delivered by the resync) is unchanged: not sent")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")

    # ---- 6. a resync that failed is replayed as a resync -------------------
    for c in env.state("acme")["degreed"]["courses"]:
        code, _ = degreed_api(env, "acme", SECRET, "DELETE", f"/api/v2/content/courses/{c['id']}")
        check(code == 204, f"set-up: the customer deletes {c['attributes']['external-id']} again")
    code, _ = env.lms_post("/_sandbox/faults", {"tenant": "acme", "error_rate": {
        "rate": 1, "status": 400, "api": "degreed"}})
    check(code == 200, "set-up: acme's Degreed API answers 400 to everything")
    rc, out, err = dlq_replay("resync", "--worker", "catalog-worker", "--config", conf,
                              "--integration", "acme-degreed", "--yes", env={"SECRET": SECRET})
    check(rc == 0, f"the second resync is republished ({err[-300:]})")
    dead = wait_for(lambda: (lambda d: d if len(d) >= 4 else None)(
        env.consume_all(f"{TOPIC}.dlq")), 60, "the failed resync's dead letters")
    check(len(dead) == 4 and all(
        r["headers"].get("lmsbridge.resync") == "true" and
        r["headers"].get("lmsbridge.integration") == "acme-degreed" and
        r["headers"].get("__connect.errors.exception.class.name") == "permanent_http"
        for r in dead), f"the four refused items are dead letters marked resync: "
        f"{[(r['key'], r['headers'].get('lmsbridge.resync')) for r in dead]}")
    env.lms_post("/_sandbox/faults", {"tenant": "acme", "error_rate": None})
    unchanged0 = metric(w3, "acme-degreed", "unchanged")
    success0 = metric(w3, "acme-degreed", "success")
    rc, out, err = dlq_replay("replay", "--worker", "catalog-worker", "--config", conf, "--yes",
                              env={"SECRET": SECRET})
    check(rc == 0, f"dlq-replay replays the four ({err.strip()[-300:]})")
    wait_for(lambda: metric(w3, "acme-degreed", "success") - success0 >= 4 or
             metric(w3, "acme-degreed", "unchanged") > unchanged0, 60, "the replay worked on")
    items = degreed_items(env.state("acme"))
    check(sorted(items) == ["course-77", "course-88", "course-99", "project-5"] and
          metric(w3, "acme-degreed", "unchanged") == unchanged0,
          f"the replayed resync is sent although unchanged since the first resync: Degreed "
          f"holds {sorted(items)}")
    w3.stop_and_check("the third catalog-worker")
finally:
    env.close()
finish()
