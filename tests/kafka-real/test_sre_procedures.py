#!/usr/bin/env python3
"""The SRE procedures of deploy/README.md, run as written against a single
Apache Kafka node (argv[1]: "4", "3" or a version; default the pinned 4.x)
with real completion-workers. The commands are the doc's own fenced blocks,
read from the file at run time; `kafka-topics.sh`, `kafka-consumer-groups.sh`
and `kafka-acls.sh` are shims on PATH that run the release's tools
(kafka-real.sh tool NAME). Only what the doc names as placeholders is
substituted: the bootstrap address, the replication settings it says to
lower with fewer than three brokers, the time and the partition/offset of a
range (`admin.properties` is written for this broker). The group and topic
names are the doc's (the workers' defaults).

- Create the topics: a worker started before refuses to run, naming them;
  the block creates them with the doc's counts and settings; both workers
  start on them (the start-up topic check accepts them).
- Watching the lag: with the group stopped, the lag the doc's command
  prints is what was produced since its last commit; a worker started
  again brings it to 0.
- Members: a second worker joins; the doc's commands show two members
  that split the partitions as the workers' lmsbridge_assigned_partitions
  say.
- Re-reading a range: the reset is refused (exit 0, nothing moved) while
  members run; stopped, a reset to a time re-delivers exactly the events
  published since (the LMS answering 409 to each, counted as delivered);
  a reset of one partition to an offset re-delivers exactly that
  partition's records from it (the LMS's 200 to a repeat)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

import kr_lib
from kr_lib import check, finish, info, kafka_real

kr_lib.skip_if_disabled()

import harness  # noqa: E402  (kr_lib set the path)
from harness import (WORKERS, Env, completion, degreed_integration, degreed_tenant,  # noqa: E402
                     die_with_test, wait_for, wait_progress)

harness.own_kafka()  # the doc's names: the workers' default topics and group
VERSION = kr_lib.version_arg()
NAME = f"sre-{VERSION}"
SECRET = "kafka-real-sre-secret-77"
ROOT = os.path.abspath(os.path.join(kr_lib.HERE, "..", ".."))
DOC = os.path.join(ROOT, "deploy", "README.md")
GROUP, TOPIC = "completion-worker", "completion-events"
TOOLS = ("kafka-topics", "kafka-consumer-groups", "kafka-acls")
kr_lib.fetch_or_fail(VERSION)


# ------------------------------------------------------------ the doc --

def doc_sections(path):
    """{heading text: [sh blocks of that section, up to the next heading]}.
    A block indented under a list item is dedented; other languages are
    left out."""
    out, heading, block, indent, sh = {}, None, None, "", False
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if block is not None:
            if line.strip() == "```":
                if sh:
                    out.setdefault(heading, []).append("\n".join(block) + "\n")
                block = None
            else:
                block.append(line[len(indent):] if line.startswith(indent) else line)
            continue
        m = re.match(r"^(\s*)```(\w*)\s*$", line)
        if m:
            indent, sh, block = m.group(1), m.group(2) == "sh", []
            continue
        m = re.match(r"^#{2,4} (.+)$", line)
        if m:
            heading = m.group(1).strip()
    return out


def one_line(block, needle):
    """The command of `block` (continuations joined) that contains needle."""
    cmds = re.sub(r"\\\n\s*", " ", block).splitlines()
    hits = [c for c in cmds if needle in c and not c.lstrip().startswith("#")]
    if len(hits) != 1:
        raise SystemExit(f"FAIL the doc's block has {len(hits)} commands with {needle!r}:\n{block}")
    return hits[0] + "\n"


def substitute(text, subs):
    """Each (old, new): old must be in the text (a doc that changed fails
    here rather than running something else)."""
    for old, new in subs:
        if old not in text:
            raise SystemExit(f"FAIL the doc's block no longer contains {old!r}:\n{text}")
        text = text.replace(old, new)
    return text


# ---------------------------------------------------------- the shims --

work = tempfile.mkdtemp(prefix="lb-sre-")
shims = os.path.join(work, "bin")
os.makedirs(shims)
for t in TOOLS:
    with open(os.path.join(shims, f"{t}.sh"), "w") as f:
        f.write(f"#!/bin/sh\n# {t}.sh as the doc names it: the Kafka {VERSION} tool\n"
                f"exec {os.path.join(kr_lib.HERE, 'kafka-real.sh')} tool --version {VERSION} "
                f"{t} \"$@\"\n")
    os.chmod(os.path.join(shims, f"{t}.sh"), 0o755)
with open(os.path.join(work, "admin.properties"), "w") as f:
    f.write("# the administrator's client settings: this broker is PLAINTEXT on loopback\n"
            "security.protocol=PLAINTEXT\n")
tool_runs = [0, 0.0]


def run_sh(text, what):
    """Runs doc text with bash -eu in the work directory (admin.properties
    there), the shims first on PATH; its own process group, killed whole
    on a time-out. CompletedProcess."""
    env = dict(os.environ, PATH=shims + os.pathsep + os.environ["PATH"])
    start = time.time()
    p = subprocess.Popen(["bash", "-euo", "pipefail", "-c", text], cwd=work, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, preexec_fn=die_with_test)
    try:
        out, err = p.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    tool_runs[0] += len(re.findall(r"\$K[TG]\b|kafka-\w+\.sh", text))
    tool_runs[1] += time.time() - start
    info(f"{what}: exit {p.returncode} in {time.time() - start:.1f}s")
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def table(out, first="GROUP"):
    """Rows of the tools' whitespace tables (after a header starting with
    `first`), as lists of columns."""
    rows, inside = [], False
    for line in out.splitlines():
        cols = line.split()
        if cols and cols[0] == first:
            inside = True
            continue
        if inside and cols:
            rows.append(cols)
    return rows


def lag_rows(out):
    """{partition: (current, end, lag)} of TOPIC from --describe."""
    return {int(r[2]): (r[3], r[4], r[5]) for r in table(out) if len(r) >= 6 and r[1] == TOPIC}


# ------------------------------------------------------------ the test --

def completions_requests(since):
    """(user-id, status) of each completion POST the LMS logged after seq."""
    out = []
    for r in env.lms_requests("acme"):
        if r["seq"] > since and r["method"] == "POST" and r["path"].endswith("/completions"):
            body = r["body"] if isinstance(r["body"], dict) else json.loads(r["body"])
            out.append((body["data"]["attributes"]["user-id"], r["status"]))
    return out


def last_seq():
    reqs = env.lms_requests("acme")
    return max((r["seq"] for r in reqs), default=0)


def records():
    """Every record of TOPIC: {(partition, offset): user email}."""
    out = {}
    for r in env.consume_all(TOPIC):
        out[(r["partition"], r["offset"])] = json.loads(r["payload"])["user"]["email"]
    return out


def delivered():
    return len(env.state("acme")["degreed"]["completions"])


def commits_at_end():
    ends = env.end_offsets(TOPIC)
    return env.committed(GROUP, TOPIC, sorted(ends)) == ends


def start_worker():
    return env.worker("completion-worker", integ, env={"SECRET": SECRET})


def batch(prefix, n):
    return [(f"{prefix}{i}", completion(f"{prefix}-e{i}", "acme", f"{prefix}{i}"))
            for i in range(n)]


secs = doc_sections(DOC)
topics_blocks = secs.get("Create the topics", [])
vars_blocks = secs.get("Consumer groups: lag, members, re-reading a range", [])
lag_blocks = secs.get("Watching the lag", [])
member_blocks = secs.get("Members and their partitions", [])
reset_blocks = secs.get("Re-reading a range (resetting the offsets)", [])
check([len(topics_blocks), len(vars_blocks), len(lag_blocks), len(member_blocks),
       len(reset_blocks)] == [1, 1, 1, 1, 2],
      "deploy/README.md has the blocks this test runs (topics; the variables; lag; members; "
      "a reset by time and one by offset)")
if harness.failures:
    finish()
KG_VARS = vars_blocks[0]
BOOT = "kafka1.internal:9093"

rk = kafka_real.RealKafka(kr_lib.run_dir(NAME), "single", VERSION)
env = None
workers = []
try:
    kr_lib.start_or_fail(rk)
    info(f"Kafka {VERSION} single node started in {rk.started_s:.1f}s at {rk.bootstrap}")
    env = Env([], [degreed_tenant("acme", SECRET)], kafka=rk)
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET")

    # -- before the topics exist: the worker refuses to start, naming them
    conf = os.path.join(env.dir, "early.conf")
    with open(conf, "w") as f:
        f.write(f'kafka: {{ brokers = "{rk.bootstrap}"; }};\n'
                'provider: { code = "datacamp"; logo_url = "https://cdn.example.com/l.png"; };\n'
                'observability: { listen = "127.0.0.1:0"; };\n'
                f"integrations = ( {integ} );\n")
    p = subprocess.run([WORKERS["completion-worker"], "--config", conf], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, SECRET=SECRET),
                       preexec_fn=die_with_test)
    errors = [json.loads(l).get("error", "") for l in p.stderr.splitlines()
              if l.startswith("{") and json.loads(l).get("level") == "error"]
    check(p.returncode == 1 and len(errors) == 1 and all(
        f'"{t}"' in errors[0] for t in (TOPIC, f"{TOPIC}.retry", f"{TOPIC}.dlq")),
        f"before the topics are created the worker exits 1 naming them ({p.returncode}: "
        f"{errors})")

    # -- Create the topics: the block as written, on one broker
    text = substitute(topics_blocks[0], [
        (BOOT, rk.bootstrap),
        # "With fewer than three brokers, lower --replication-factor and
        # min.insync.replicas to match"
        ("--replication-factor 3", "--replication-factor 1"),
        ("min.insync.replicas=2", "min.insync.replicas=1")])
    p = run_sh(text, "the topic block")
    check(p.returncode == 0, f"the topic block runs (exit {p.returncode})"
          + (f": {p.stderr[-600:]}" if p.returncode else ""))
    want = {"completion-events": 24, "completion-events.retry": 24, "completion-events.dlq": 1,
            "catalog-events": 12, "catalog-events.retry": 12, "catalog-events.state": 12,
            "catalog-events.dlq": 1}
    md = rk.metadata(list(want))["topics"]
    got = {t: len(md[t]["partitions"]) if t in md and not md[t]["error"] else 0 for t in want}
    check(got == want, f"the topics exist with the doc's partition counts {got}")
    described = {m.group(1): m.group(2) for m in re.finditer(
        r"Topic: (\S+)\s+TopicId: \S+\s+PartitionCount: (\d+)", p.stdout)}
    check(described == {t: str(n) for t, n in want.items() if t.startswith(TOPIC)},
          f"its --describe line lists the three completion topics and their counts "
          f"({described})")
    configs = {m.group(1): m.group(2) for m in re.finditer(
        r"Topic: (\S+)\s+TopicId: .*?Configs: (\S*)", p.stdout)}
    check("retention.ms=-1" in configs.get(f"{TOPIC}.dlq", "") and
          "retention.ms=604800000" in configs.get(f"{TOPIC}.retry", "") and
          "max.message.bytes=1048588" in configs.get(f"{TOPIC}.retry", ""),
          f"the DLQ is kept, the retry topic 7 days, both max.message.bytes 1048588 "
          f"({configs})")

    # -- both workers start on the topics created so (the start-up check)
    cw = env.worker("catalog-worker", degreed_integration(env, "acme-degreed", "acme", "SECRET"),
                    env={"SECRET": SECRET})
    wait_for(lambda: cw.get("/readyz")[0] == 200, 120, "catalog-worker ready")
    n = (cw.metric("lmsbridge_assigned_partitions", topic="catalog-events"),
         cw.metric("lmsbridge_assigned_partitions", topic="catalog-events.retry"))
    check(n == (12, 12), f"catalog-worker starts on the catalog topics and holds their 12 + 12 "
          f"partitions ({n})")
    cw.stop_and_check("catalog-worker")
    w1 = start_worker()
    workers.append(w1)
    wait_for(lambda: w1.get("/readyz")[0] == 200, 120, "completion-worker ready")
    n = (w1.metric("lmsbridge_assigned_partitions", topic=TOPIC),
         w1.metric("lmsbridge_assigned_partitions", topic=f"{TOPIC}.retry"))
    check(n == (24, 24), f"completion-worker (group completion-worker) starts on the "
          f"completion topics and holds their 24 + 24 partitions ({n})")

    # batch A: a record in each partition, so the group commits every one
    a = batch("a", 48)
    for p_ in range(24):
        env.produce_many(TOPIC, a[2 * p_:2 * p_ + 2], partition=p_)
    wait_progress(delivered, 48, "batch A delivered")
    wait_for(commits_at_end, 60, "the group's commits at the end of every partition")
    w1.stop_and_check("completion-worker (group stopped)")
    workers.remove(w1)

    # -- Watching the lag: B produced while the group is stopped
    b = batch("b", 200)
    env.produce_many(TOPIC, b)
    ends = env.end_offsets(TOPIC)
    committed = env.committed(GROUP, TOPIC, sorted(ends))
    lag_text = substitute(KG_VARS, [(BOOT, rk.bootstrap)]) + lag_blocks[0]
    p = run_sh(lag_text, "the lag block, group stopped")
    lines = p.stdout.strip().splitlines()
    check(p.returncode == 0 and lines and lines[-1].strip() == "200",
          f"the doc's total lag of the source topic is the 200 records produced since the "
          f"last commit ({lines[-1:] if lines else p.stderr[-400:]})")
    rows = lag_rows(p.stdout)
    check(rows == {q: (str(committed[q]), str(ends[q]), str(ends[q] - committed[q]))
                   for q in ends},
          "per partition: CURRENT-OFFSET is the commit, LOG-END-OFFSET the end, LAG the "
          "difference")
    check("has no active members" in p.stdout + p.stderr, "the tool says the group has no "
          "active members")

    w1 = start_worker()
    workers.append(w1)
    wait_progress(delivered, 248, "batch B delivered")
    wait_for(commits_at_end, 60, "commits at the end again")
    p = run_sh(lag_text, "the lag block, worker running")
    lines = p.stdout.strip().splitlines()
    rows = lag_rows(p.stdout)
    check(p.returncode == 0 and lines and lines[-1].strip() == "0" and
          all(r[2] == "0" for r in rows.values()) and len(rows) == 24,
          f"with the worker running the lag goes to 0, on all 24 partitions "
          f"({lines[-1:]}, {len(rows)} rows)")

    # -- scaling: a second member joins; the doc's checks show the split
    w2 = start_worker()
    workers.append(w2)

    def split():
        """(source, retry) partitions per member, from lmsbridge_assigned_partitions,
        once the group's 48 are all held and evenly shared."""
        n = [(int(w.metric("lmsbridge_assigned_partitions", topic=TOPIC)),
              int(w.metric("lmsbridge_assigned_partitions", topic=f"{TOPIC}.retry")))
             for w in (w1, w2)]
        split.last = n
        totals = [s_ + r_ for s_, r_ in n]
        return n if (min(totals) > 0 and max(totals) - min(totals) <= 1 and
                     sum(s_ for s_, _ in n) == 24 and sum(r_ for _, r_ in n) == 24) else None
    try:
        counts = wait_for(split, 120, "the partitions split between two members (metrics)")
    except TimeoutError:
        check(False, f"the partitions split between two members: (source, retry) per member "
              f"{split.last}")
        raise
    info(f"lmsbridge_assigned_partitions (source, retry) per member: {counts}")
    members_text = substitute(KG_VARS, [(BOOT, rk.bootstrap)]) + member_blocks[0]

    def assignment(line, topic):
        """A topic's partitions in a --verbose row: topic:0,1,2 (Kafka 4.x,
        CURRENT-ASSIGNMENT) or topic(0,1,2) (3.x, ASSIGNMENT)."""
        m = re.search(r"(?:^|[\s;,])" + re.escape(topic) + r"[:(]([\d,]*)", line)
        return sorted(int(x) for x in m.group(1).split(",") if x) if m else []

    def members_agree():
        p = run_sh(members_text, "the members block")
        rows = [r for r in table(p.stdout) if len(r) >= 5 and r[0] == GROUP]
        state = [r for r in rows if "Stable" in r]
        counted = [int(r[4]) for r in rows if len(r) == 5 and r[4].isdigit() and
                   "Stable" not in r]
        verbose = [(assignment(l, TOPIC), assignment(l, f"{TOPIC}.retry"))
                   for l in p.stdout.splitlines() if l.startswith(GROUP) and
                   len(l.split()) > 5 and "Stable" not in l]
        return (state, counted, verbose, p) if p.returncode == 0 and state else None
    state, counted, verbose, p = wait_for(members_agree, 300, "a Stable group in the tool")
    check(state[0][-1] == "2", f"--state: Stable with 2 members ({state})")
    check(sorted(counted) == sorted(s_ + r_ for s_, r_ in counts),
          f"--members: two members whose #PARTITIONS are the workers' "
          f"lmsbridge_assigned_partitions sums ({counted})")
    check(len(verbose) == 2 and
          sorted(sum((v[0] for v in verbose), [])) == list(range(24)) and
          sorted(sum((v[1] for v in verbose), [])) == list(range(24)) and
          sorted((len(v[0]), len(v[1])) for v in verbose) == sorted(counts),
          f"--members --verbose: every partition of both topics held by one of the two, as "
          f"their metrics count them ({[(len(v[0]), len(v[1])) for v in verbose]})"
          + ("" if len(verbose) == 2 else f": {p.stdout}"))
    check(all(v[0] == v[1] for v in verbose) and
          sorted(len(v[0]) for v in verbose) == [12, 12],
          f"--members --verbose: each member holds the same partition numbers of the source "
          f"and retry topics, 12 of each (the range assignor, deploy/README.md): "
          f"{[(v[0], v[1]) for v in verbose]}")

    # -- Re-reading a range by time. C is produced after FROM.
    time.sleep(0.05)
    from_ms = int(time.time() * 1000)
    FROM = datetime.fromtimestamp(from_ms / 1000, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3]
    time.sleep(0.05)
    before_c = env.end_offsets(TOPIC)
    c = batch("c", 120)
    env.produce_many(TOPIC, c)
    wait_progress(delivered, 368, "batch C delivered by the two members")
    wait_for(commits_at_end, 60, "commits at the end")
    by_time = substitute(KG_VARS, [(BOOT, rk.bootstrap)]) + re.sub(
        r"(?m)^FROM=\S+", f"FROM={FROM}", reset_blocks[0])
    check(f"FROM={FROM}" in by_time, "the reset block sets FROM (substituted)")

    # refused while members run: exit 0, nothing moved
    before = env.committed(GROUP, TOPIC, sorted(before_c))
    p = run_sh(by_time, "the reset by time, members running")
    check(p.returncode == 0 and "can only be reset if the group" in p.stdout + p.stderr and
          "inactive" in p.stdout + p.stderr,
          "with members running the tool refuses the reset, says so and exits 0 (as the doc "
          "warns)")
    check(env.committed(GROUP, TOPIC, sorted(before_c)) == before, "nothing moved")

    # step 1: stop every member; the doc's --state check says Empty
    for w in (w1, w2):
        w.stop_and_check("completion-worker")
        workers.remove(w)
    p = run_sh(substitute(KG_VARS, [(BOOT, rk.bootstrap)]) + one_line(member_blocks[0],
                                                                       "--state"),
               "the --state check")
    state = [r for r in table(p.stdout) if r[0] == GROUP]
    check(len(state) == 1 and state[0][-2:] == ["Empty", "0"],
          f"--state says Empty, 0 members, once every member stopped ({state})")

    # step 2: preview, reset
    p = run_sh(by_time, "the reset by time")
    dry, done = p.stdout.split("NEW-OFFSET", 2)[1:3] if p.stdout.count("NEW-OFFSET") == 2 \
        else ("", "")
    new = {int(r[2]): int(r[3]) for r in table("GROUP\n" + dry) if len(r) == 4 and r[0] == GROUP}
    check(p.returncode == 0 and new == before_c,
          f"--dry-run: NEW-OFFSET of each partition is where the records since FROM begin "
          f"({len(new)} partitions)")
    moved = env.committed(GROUP, TOPIC, sorted(before_c))
    check(moved == before_c, "--execute: the group's offsets are those")

    # step 3: one member started; Degreed answers 409 to every repeat
    code, _ = env.lms_post("/_sandbox/faults", {"tenant": "acme", "error_rate": {
        "rate": 1.0, "status": 409, "api": "degreed"}})
    check(code == 200, "the LMS answers 409 to every completion from now on")
    seq = last_seq()
    w1 = start_worker()
    workers.append(w1)
    wait_progress(lambda: len(completions_requests(seq)), 120, "the range re-delivered")
    wait_for(commits_at_end, 60, "commits at the end after the re-read")
    reqs = completions_requests(seq)
    want_users = sorted(f"c{i}@acme.example" for i in range(120))
    check(sorted(u for u, _ in reqs) == want_users and all(s == 409 for _, s in reqs),
          f"the reset by time re-delivers exactly the 120 events published since FROM, each "
          f"once, and the LMS answers 409 ({len(reqs)} requests)")
    rep = w1.metric("lmsbridge_deliveries_total", integration="acme-degreed", outcome="repeat")
    check(rep == 120, f"the 409s are counted as delivered before (outcome repeat: {rep})")
    check(not env.consume_all(f"{TOPIC}.dlq"), "nothing dead-lettered")
    env.lms_post("/_sandbox/faults", {"tenant": "acme", "error_rate": None})
    w1.stop_and_check("completion-worker")
    workers.remove(w1)

    # -- a range from one partition's offset: the partition with most
    #    records, from its middle
    recs = records()
    ends = env.end_offsets(TOPIC)
    part = max(ends, key=lambda q: ends[q])
    off = ends[part] // 2
    want_users = sorted(u for (q, o), u in recs.items() if q == part and o >= off)
    by_offset = substitute(KG_VARS, [(BOOT, rk.bootstrap)]) + substitute(
        reset_blocks[1], [("$T:3 --to-offset 1200", f"$T:{part} --to-offset {off}")])
    p = run_sh(by_offset, f"the reset of partition {part} to offset {off}")
    new = {int(r[2]): int(r[3]) for r in table(p.stdout) if len(r) == 4 and r[0] == GROUP}
    check(p.returncode == 0 and new == {part: off},
          f"NEW-OFFSET: partition {part} at {off}, no other partition ({new})")
    moved = env.committed(GROUP, TOPIC, sorted(ends))
    check(moved == {**ends, part: off}, "only that partition's offset moved")
    repeats_before = {c_["attributes"]["user-id"]: c_["repeats"]
                      for c_ in env.state("acme")["degreed"]["completions"]}
    seq = last_seq()
    w1 = start_worker()
    workers.append(w1)
    wait_progress(lambda: len(completions_requests(seq)), len(want_users),
                  "the partition's range re-delivered")
    wait_for(commits_at_end, 60, "commits at the end after the re-read")
    reqs = completions_requests(seq)
    check(sorted(u for u, _ in reqs) == want_users and all(s == 200 for _, s in reqs),
          f"the reset of partition {part} to offset {off} re-delivers exactly its "
          f"{len(want_users)} records from there, each once (the LMS: 200, a repeat)")
    repeats = {c_["attributes"]["user-id"]: c_["repeats"]
               for c_ in env.state("acme")["degreed"]["completions"]}
    check(len(repeats) == 368 and all(
        repeats[u] == repeats_before[u] + (1 if u in want_users else 0) for u in repeats),
        "the LMS counts one repeat for each of those and none for the others")
    w1.stop_and_check("completion-worker")
    workers.remove(w1)
    info(f"{tool_runs[0]} Kafka tool runs took {tool_runs[1]:.0f}s in all")

    env.close()
    env = None
    kr_lib.stop_and_check(rk)
finally:
    for w in workers:
        if w.proc.poll() is None:
            w.proc.kill()
    if env:
        env.close()
    rk.close(keep_logs=bool(harness.failures) or sys.exc_info()[0] is not None)
    shutil.rmtree(work, ignore_errors=True)
finish()
