#!/usr/bin/env python3
"""completion-worker and dlq-replay over SASL_SSL with ACLs, on a real
broker (argv[1]: "3", "4" or a version): SCRAM-SHA-512 users, ACLs by
StandardAuthorizer, a CA and broker certificate made by openssl.

1. The worker's account holding exactly the ACLs deploy/README.md lists
   for completion-worker (its kafka-acls commands, run as written) consumes,
   delivers to lms-sandbox, parks a delivery in the retry topic and gets it
   back, dead-letters an invalid event and a refused delivery, and commits
   to the end; the Describe ACLs are implied by Read and Write (it works
   without them); without each Read or Write ACL it fails, saying which
   ACL is missing. dlq-replay, as the support account, needs what the
   README says: `list` only the DLQ's Read, `replay --dry-run` also the
   progress groups', `replay` also Write on the source topic.
2. A wrong password: one clear error (mechanism and user, never the
   password), /readyz 503, the process alive and trying; once the broker
   takes that password it goes on by itself.
3. No WRITE on the DLQ: nothing is committed past the dead letter it could
   not write, its log names the missing ACL; once granted, the dead letter
   lands and the offsets move on, nothing lost.
4. TLS: the broker's certificate is verified against ssl.ca.location; a CA
   that did not sign it, or a certificate for another host name, fails
   clearly and the worker stays up, not ready.
No password, and no LMS secret, in any worker log, dlq-replay output,
--check-config output or this test's output.

Debian's librdkafka (2.0.2) cannot authenticate with SCRAM to Kafka 4.x
(fixed in librdkafka 2.6.1, PR 4895): with such a librdkafka on 4.x the
test shows the worker's authentication error beside the Java client
succeeding with the same user and password, and runs the TLS checks (the
handshake comes before SASL); the rest needs a 3.x broker."""
import json
import os
import re
import shlex
import socket
import subprocess
import time

import kr_lib
from kr_lib import info, kafka_real

kr_lib.skip_if_disabled()

import harness  # noqa: E402
from harness import (WORKERS, Env, Worker, completion, degreed_integration,  # noqa: E402
                     degreed_tenant, die_with_test, dlq_replay, wait_for, wait_progress)

VERSION = kr_lib.version_arg()
kr_lib.fetch_or_fail(VERSION)
RDKAFKA = kr_lib.librdkafka_version()
RDKAFKA_S = ".".join(map(str, RDKAFKA))
SCRAM_BUG = int(kafka_real.major(VERSION)) >= 4 and RDKAFKA < (2, 6, 1)

TOPIC = "completion-events"
RETRY, DLQ = f"{TOPIC}.retry", f"{TOPIC}.dlq"
GROUP = "completion-worker"
USER, SUPPORT = "lmsbridge", "lmsbridge-support"   # deploy/README.md's principals
LMS_SECRET = "sasl-worker-lms-secret-7c41"
WRONG_PASSWORD = "not-the-lmsbridge-password-5e2a"
README = os.path.join(kr_lib.HERE, "..", "..", "deploy", "README.md")

printed = []     # what this test printed: checked for secrets at the end
outputs = []     # what dlq-replay, --check-config and the Kafka tools printed
log_files = []   # the workers' stderr (their log) and stdout


def check(cond, what):
    printed.append(what)
    harness.check(cond, what)


def note(text):
    printed.append(text)
    info(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------ the README's ACLs --

def readme_acl_commands():
    """The kafka-acls command lines of deploy/README.md's "Kafka ACLs"
    section, by block: {"completion-worker": [args, ...], "catalog-worker":
    ..., "dlq-replay": ...}; each args list is what follows $KA, with $P and
    $S replaced by the principals the README defines."""
    with open(README) as f:
        text = f.read()
    section = text.split("\n## Kafka ACLs\n", 1)[1].split("\n## ", 1)[0]
    blocks = {}
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        variables, name = {}, None
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            m = re.match(r"(\w+)=(\S+)$", line)
            if m and not line.startswith("KA="):
                variables[m.group(1)] = m.group(2)
                if m.group(1) == "S":
                    name = "dlq-replay"
            elif line.startswith("#"):
                name = line[1:].strip()
            elif line.startswith("$KA "):
                args = [variables.get(a[1:], a) if a.startswith("$") else a
                        for a in shlex.split(line)[1:]]
                blocks.setdefault(name, []).append(args)
    return blocks


def acl_entries(args):
    """The ACLs one kafka-acls --add command grants: (principal, resource
    type, name, pattern, operation) tuples, as the broker names them."""
    principal, ops, resources, pattern = None, [], [], "literal"
    it = iter(args)
    for a in it:
        if a == "--allow-principal":
            principal = next(it)
        elif a == "--operation":
            ops.append(re.sub(r"(?<!^)([A-Z])", r"_\1", next(it)).lower())
        elif a in ("--topic", "--group"):
            resources.append((a[2:], next(it)))
        elif a == "--cluster":
            resources.append(("cluster", "kafka-cluster"))
        elif a == "--resource-pattern-type":
            pattern = next(it)
    return {(principal, r, n, pattern, op) for r, n in resources for op in ops}


def broker_acls(principal):
    """The ACLs the broker holds for `principal`, as acl_entries() names them."""
    names = {v: k for k, v in kafka_real.RESOURCE.items()}
    pats = {v: k for k, v in kafka_real.PATTERN.items()}
    ops = {v: k for k, v in kafka_real.OPERATION.items()}
    with kafka_real.KafkaConn(rk.bootstrap) as c:
        held = c.describe_acls()
    return {(p, names[rt], n, pats[pt], ops[op]) for rt, n, pt, p, _h, op, perm in held
            if p == principal and perm == kafka_real.PERMISSION["allow"]}


def kafka_acls(*args):
    """kafka-acls over the admin listener (its anonymous principal is a
    super user, in place of the README's --command-config admin.properties)."""
    p = rk.tool("kafka-acls", "--bootstrap-server", rk.bootstrap, *args)
    outputs.append(p.stdout + p.stderr)
    if p.returncode != 0:
        raise kafka_real.KafkaRealError(f"kafka-acls {' '.join(args)}: {p.stderr[-600:]}")
    return p


def remove_acl(entry):
    principal, rtype, name, pattern, op = entry
    res = ["--cluster"] if rtype == "cluster" else [f"--{rtype}", name]
    kafka_acls("--remove", "--force", "--allow-principal", principal,
               "--operation", "".join(w.capitalize() for w in op.split("_")), *res,
               *(["--resource-pattern-type", pattern] if pattern != "literal" else []))


def grant(entries):
    """ACLs granted at once over the Kafka protocol (no JVM), waited for."""
    acl = []
    for principal, rtype, name, pattern, op in entries:
        acl += rk.acl(principal, rtype, name, [op], pattern)
    rk.create_acls(acl)


def wait_acls(principal, want, timeout=60):
    rk.wait_for(lambda: broker_acls(principal) == want, timeout, f"the ACLs of {principal}")


def acl_text(entries):
    return "; ".join(f"{op.upper()} on {r} {n}{' (prefixed)' if p != 'literal' else ''}"
                     for _u, r, n, p, op in sorted(entries, key=lambda e: (e[1], e[2], e[4])))


# ------------------------------------------------------------- workers --

class SaslWorker(Worker):
    """A completion-worker on the SASL_SSL listener, configured as a
    deployment is (docs/configuration.md): the librdkafka properties in
    kafka.properties, the password a reference (@env or @file). Its
    metrics port is fixed, so /readyz answers before it consumes. Reuses
    harness.Worker's helpers (get, metric, logs, stop)."""

    def __init__(self, env, password_ref, penv=None, user=USER, ca=None, brokers=None,
                 extra=(), wait=True):
        Worker.counter += 1
        self.env = env
        self.log_path = os.path.join(env.dir, f"sasl-worker-{Worker.counter}.log")
        self.out_path = self.log_path[:-4] + ".out"
        self.conf = self.log_path[:-4] + ".conf"
        self.metrics_port = free_port()
        self.conf_text = config_text(env, password_ref, user, ca or rk.ca_file,
                                     brokers or rk.sasl_bootstrap, extra, self.metrics_port)
        with open(self.conf, "w") as f:
            f.write(self.conf_text)
        e = dict(os.environ)
        e.update(penv or {})
        self.log = open(self.log_path, "w")
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen([WORKERS["completion-worker"], "--config", self.conf],
                                     stdout=self.out, stderr=self.log, env=e,
                                     preexec_fn=die_with_test)
        env.workers.append(self.proc)
        log_files.extend([self.log_path, self.out_path])
        if wait:
            wait_for(self.consuming, 120, "the worker consuming")

    def consuming(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited {self.proc.returncode}: {self.tail()}")
        return any(l.get("msg") == "consuming" for l in self.logs())

    def lines(self, msg_start):
        return [l for l in self.logs() if l.get("msg", "").startswith(msg_start)]

    def tail(self):
        with open(self.log_path) as f:
            return f.read()[-1500:]


def config_text(env, password_ref, user, ca, brokers, extra, port):
    props = [("security.protocol", "SASL_SSL"), ("sasl.mechanisms", kafka_real.SCRAM),
             ("sasl.username", user), ("sasl.password", password_ref),
             ("ssl.ca.location", ca), ("session.timeout.ms", "6000"),
             ("heartbeat.interval.ms", "500"), ("topic.metadata.refresh.interval.ms", "2000"),
             *extra]
    plist = ",\n    ".join(f'["{k}", "{v}"]' for k, v in props)
    integ = ", ".join(degreed_integration(env, f"{t}-degreed", t, "LMS_SECRET")
                      for t in ("acme", "slow", "rej"))
    return f"""kafka: {{ brokers = "{brokers}";
  properties = ( {plist} ); }};
provider: {{ code = "datacamp"; ocn_provider_id = "DATACAMP";
  logo_url = "https://cdn.example.com/logo.png"; }};
delivery: {{ backoff_initial_ms = 100; backoff_max_ms = 2000; }};
observability: {{ listen = "127.0.0.1:{port}"; log_level = "info"; }};
integrations = ( {integ} );
"""


def run(args, penv=None, **kw):
    e = dict(os.environ)
    e.update(penv or {})
    p = subprocess.run(args, capture_output=True, text=True, env=e, timeout=120,
                       preexec_fn=die_with_test, **kw)
    outputs.append(p.stdout + p.stderr)
    return p


def replay_tool(conf, *args, stdin=None):
    rc, lines, err = dlq_replay(*args, "--config", conf, "--worker", "completion-worker",
                                stdin=stdin, timeout=180)
    outputs.append(json.dumps(lines) + err)
    if rc == 2:
        note(f"dlq-replay usage error: {err[-300:]}")
    return rc, lines, err


def delivered(tenant):
    return env.state(tenant)["degreed"]["completions"]


def end_offsets():
    return {p: o for p, o in env.end_offsets(TOPIC).items()}


def committed():
    return env.committed(GROUP, TOPIC, sorted(end_offsets()))


def all_committed():
    return committed() == end_offsets()


def auth_failure(w, reason):
    """The worker's first 'kafka authentication failed' line (waited for),
    and whether it is an error naming SCRAM, USER and `reason`."""
    line = wait_for(lambda: w.lines("kafka authentication failed"), 120,
                    "the authentication error")[0]
    return line, (line["level"] == "error" and line.get("mechanism") == kafka_real.SCRAM and
                  line.get("user") == USER and reason in line.get("reason", ""))


def readyz(w):
    return w.get("/readyz")[0]


# ---------------------------------------------------------------- TLS --

def other_ca(directory):
    """A CA of its own (it signed nothing the broker has)."""
    key, pem = os.path.join(directory, "other-ca.key"), os.path.join(directory, "other-ca.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", pem, "-days", "2", "-subj", "/CN=another test CA",
                        "-addext", "basicConstraints=critical,CA:TRUE",
                        "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"openssl: {p.stderr[-400:]}")
    return pem


def tls_refused(env, what, ca, brokers, password_ref, penv):
    """A worker whose TLS handshake fails: one clear error naming the CA
    file, not ready, alive; SIGTERM stops it before it consumed, exit 0."""
    w = SaslWorker(env, password_ref, penv, ca=ca, brokers=brokers, wait=False)
    wait_for(lambda: w.lines("kafka TLS handshake failed") or w.proc.poll() is not None,
             120, f"{what}: the TLS error")
    line = w.lines("kafka TLS handshake failed")
    fails = [l for l in w.logs() if "certificate verify failed" in l.get("detail", "")]
    check(line and line[0].get("ssl_ca_location") == ca and
          "certificate verify failed" in line[0].get("reason", "") and fails,
          f"{what}: the worker says the TLS handshake failed (certificate verify failed), "
          f"naming ssl.ca.location")
    if line:
        note(f"{what}: {line[0]['msg'][:60]}... reason: {line[0]['reason'][:160]}")
    # two attempts at least: it keeps trying, and stays up meanwhile
    wait_progress(lambda: len([l for l in w.logs()
                               if "certificate verify failed" in l.get("detail", "")]), 3,
                  f"{what}: more handshakes", stall=120)
    check(w.proc.poll() is None and readyz(w) == 503 and w.get("/healthz")[0] == 200,
          f"{what}: it keeps trying, alive: /readyz 503, /healthz 200")
    check(not w.lines("consuming") and not w.lines("partitions assigned"),
          f"{what}: it never consumed")
    rc, _ = w.stop()
    check(rc == 0 and w.lines("stopped before consuming"),
          f"{what}: SIGTERM: 'stopped before consuming', exit 0 ({rc})")


def wrong_host_broker():
    """A second SASL_SSL broker whose certificate names another host
    (DNS:kafka.wrong-host.invalid, no IP): signed by its own CA, which the
    worker trusts."""
    rk2 = kafka_real.RealKafka(kr_lib.run_dir(f"sasl-worker-host-{VERSION}"), "sasl", VERSION,
                               users=[(USER, rk.users[USER])],
                               cert_sans=("DNS:kafka.wrong-host.invalid",))
    return kr_lib.start_or_fail(rk2)


def tls_checks(env, password_ref, penv):
    tls_refused(env, "a CA that did not sign the broker's certificate",
                    other_ca(env.dir), rk.sasl_bootstrap, password_ref, penv)
    rk2 = wrong_host_broker()
    try:
        san = subprocess.run(["openssl", "x509", "-in", os.path.join(rk2.workdir, "tls",
                                                                    "broker.pem"),
                              "-noout", "-ext", "subjectAltName"],
                             capture_output=True, text=True).stdout
        check("kafka.wrong-host.invalid" in san and "127.0.0.1" not in san,
              f"the second broker's certificate names kafka.wrong-host.invalid only "
              f"({' '.join(san.split()[-1:])})")
        # its CA is good: without the host name check the handshake passes
        p = kr_lib.kcat(["-F", rk2.kcat_config(USER), "-X",
                         "ssl.endpoint.identification.algorithm=none", "-L", "-m", "10"])
        outputs.append(p.stdout + p.stderr)
        check("certificate verify failed" not in p.stderr and
              (p.returncode == 0 or (SCRAM_BUG and "Authentication failed" in p.stderr)),
              "the second broker's CA verifies its certificate when the host name is not "
              "checked (kcat, ssl.endpoint.identification.algorithm=none)")
        tls_refused(env, "a broker certificate for another host name", rk2.ca_file,
                    rk2.sasl_bootstrap, password_ref, penv)
    finally:
        rk2.close(keep_logs=bool(harness.failures))


# -------------------------------------------------------------- secrets --

def secrets_check():
    secrets = [pw for pw in rk.users.values() if pw] + [WRONG_PASSWORD, LMS_SECRET,
                                                        rk._keystore_password]
    leaks = [path for path in log_files
             if any(s in open(path, errors="replace").read() for s in secrets)]
    leaks += [f"output {i}" for i, text in enumerate(outputs) if any(s in text for s in secrets)]
    check(not leaks, f"no password and no LMS secret in the workers' {len(log_files)} logs and "
          f"stdouts, nor in the {len(outputs)} outputs of dlq-replay, --check-config and the "
          f"Kafka tools" + (f": {leaks}" if leaks else ""))
    check(not any(s in t for t in printed for s in secrets),
          "no password and no LMS secret in this test's output")


# ================================================================ run ==

TOPICS = [f"{TOPIC}:2", f"{RETRY}:2", f"{DLQ}:1"]
TENANTS = [degreed_tenant("acme", LMS_SECRET), degreed_tenant("slow", LMS_SECRET),
           degreed_tenant("rej", LMS_SECRET)]

rk = kafka_real.RealKafka(kr_lib.run_dir(f"sasl-worker-{VERSION}"), "sasl", VERSION,
                          users=[USER, SUPPORT])
env = None
try:
    kr_lib.start_or_fail(rk)
    note(f"Kafka {rk.version} SASL_SSL at {rk.sasl_bootstrap} started in {rk.started_s:.1f}s; "
         f"librdkafka {RDKAFKA_S}")
    env = Env(TOPICS, TENANTS, kafka=rk)
    pw_env = {"KAFKA_PASSWORD": rk.users[USER], "LMS_SECRET": LMS_SECRET}
    PW_REF = "@env:KAFKA_PASSWORD"

    # the worker's ACLs, exactly as deploy/README.md writes them
    blocks = readme_acl_commands()
    check(set(blocks) >= {"completion-worker", "dlq-replay"} and
          all(a[0] == "--add" for b in blocks.values() for a in b),
          f"deploy/README.md's Kafka ACLs: {', '.join(f'{k} ({len(v)})' for k, v in blocks.items())}")
    documented = set()
    start = time.time()
    for args in blocks["completion-worker"]:
        kafka_acls(*args)
        documented |= acl_entries(args)
    wait_acls(f"User:{USER}", documented)
    note(f"{len(blocks['completion-worker'])} kafka-acls commands of the README run as written "
         f"in {time.time() - start:.1f}s: User:{USER} holds {len(documented)} ACLs: "
         f"{acl_text(documented)}")

    if SCRAM_BUG:
        # ---------------------------------------------------------- 4.x --
        w = SaslWorker(env, PW_REF, pw_env, wait=False)
        line, said = auth_failure(w, "SASL authentication error")
        check(said,
              f"KNOWN: librdkafka {RDKAFKA_S} cannot authenticate with SCRAM to Kafka {VERSION} "
              f"(fixed in librdkafka 2.6.1): the worker says 'kafka authentication failed' "
              f"with mechanism {line.get('mechanism')} and user {line.get('user')}")
        note(f"worker: {line['reason'][:240]}")
        with open(rk.nodes[0].log) as f:
            for l in [l for l in f if "invalid credentials" in l or "Failed authentication" in l][-1:]:
                note(f"broker: {l.strip()[:240]}")
        check(w.proc.poll() is None and readyz(w) == 503,
              "the worker stays up and not ready (/readyz 503)")
        p = rk.tool("kafka-topics", "--bootstrap-server", rk.sasl_bootstrap,
                    "--command-config", rk.client_properties(USER), "--list")
        outputs.append(p.stdout + p.stderr)
        check(p.returncode == 0 and TOPIC in p.stdout.split(),
              f"the Java client authenticates as {USER} with the same password and lists "
              f"{TOPIC} (its ACLs)")
        rc, _ = w.stop()
        check(rc == 0, f"the worker stops on SIGTERM, exit 0 ({rc})")
        tls_checks(env, PW_REF, pw_env)
        secrets_check()
        env.close()
        env = None
        kr_lib.stop_and_check(rk)
        harness.finish()

    # ---------------------------------------------- 1. the documented ACLs --
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": {
        "rate": 1, "status": 429, "retry_after": 31, "api": "degreed"}})
    env.lms_post("/_sandbox/faults", {"tenant": "rej", "error_rate": {
        "rate": 1, "status": 400, "api": "degreed"}})
    N = 8
    records = [(f"a{i}", completion(f"a{i}", "acme", f"a{i}")) for i in range(N)]
    records += [("bad1", '{"schema":"completion.v1","event_id":"bad1"}'),
                ("s1", completion("s1", "slow", "s1")), ("r1", completion("r1", "rej", "r1"))]
    env.produce_many(TOPIC, records)
    start = time.time()
    w = SaslWorker(env, PW_REF, pw_env)
    wait_for(lambda: len(delivered("acme")) == N, 120, "acme's completions")
    note(f"{N} completions delivered over SASL_SSL in {time.time() - start:.1f}s from the start")
    wait_for(lambda: len(env.consume_all(DLQ)) == 2, 120, "two dead letters")
    wait_for(lambda: w.metric("lmsbridge_events_consumed_total", topic=RETRY) >= 1, 120,
             "the parked record consumed back from the retry topic")
    dlq = env.consume_all(DLQ)
    classes = sorted(r["headers"].get("__connect.errors.exception.class.name") for r in dlq)
    check(len(delivered("acme")) == N and classes == ["invalid_event", "permanent_http"],
          f"with the README's ACLs: {N} completions delivered, the invalid event and the "
          f"refused delivery dead-lettered ({classes})")
    check(w.metric("lmsbridge_deliveries_total", integration="slow-degreed", outcome="parked")
          == 1 and w.metric("lmsbridge_events_consumed_total", topic=RETRY) >= 1,
          "a delivery parked in the retry topic (Retry-After 31 s) and consumed back from it")
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": None})
    wait_for(lambda: len(delivered("slow")) == 1, 120, "the parked completion delivered")
    wait_for(all_committed, 60, "the offsets committed to the end")
    check(all_committed() and len(delivered("slow")) == 1,
          f"the parked completion delivered once its time came; committed to the end "
          f"{committed()}")
    check(readyz(w) == 200 and not w.lines("kafka authentication failed") and
          not [l for l in w.logs() if l.get("missing_acl")],
          "/readyz 200; no authentication or ACL error")
    note(f"end to end with the README's ACLs in {time.time() - start:.1f}s "
         f"(the parked delivery waits 31 s)")
    w.stop_and_check("the worker (documented ACLs)")

    # dlq-replay as the support account, its ACLs added one README command
    # at a time
    support_pw = os.path.join(env.dir, "kafka.sasl_password")
    kafka_real._write_private(support_pw, rk.users[SUPPORT] + "\n")
    support_conf = os.path.join(env.dir, "support.conf")
    with open(support_conf, "w") as f:
        f.write(config_text(env, f"@file:{support_pw}", SUPPORT, rk.ca_file, rk.sasl_bootstrap,
                            (), free_port()))
    first, *rest = blocks["dlq-replay"]
    s_entries = acl_entries(first)
    kafka_acls(*first)
    wait_acls(f"User:{SUPPORT}", s_entries)
    rc, lines, err = replay_tool(support_conf, "list")
    check(rc == 0 and sorted(l.get("reason") for l in lines) == classes,
          f"dlq-replay list with the README's first command only ({acl_text(s_entries)}): "
          f"both dead letters ({rc})")
    rc, lines, err = replay_tool(support_conf, "replay", "--integration", "rej-degreed",
                                 "--dry-run")
    errors = [json.loads(l) for l in err.splitlines() if l.startswith("{")]
    errors = [l for l in errors if l.get("level") == "error"]
    named = [l.get("error", "") for l in errors if "READ on group" in l.get("error", "")]
    check(rc == 1 and not [l for l in lines if l.get("action")] and errors and
          errors[-1].get("msg") == "cannot read the dead-letter topic, nothing replayed" and named,
          f"replay --dry-run without the group ACL: exit {rc}, nothing selected, the ACL named: "
          f"{errors[-1].get('error') if errors else err[-300:]}")
    groups = [a for a in rest if "--group" in a]
    writes = [a for a in rest if "--group" not in a]
    for args in groups:
        kafka_acls(*args)
        s_entries |= acl_entries(args)
    wait_acls(f"User:{SUPPORT}", s_entries)
    rc, lines, err = replay_tool(support_conf, "replay", "--integration", "rej-degreed",
                                 "--dry-run")
    plan = lines[-1] if lines else {}
    check(rc == 0 and plan.get("summary") == "dry-run" and plan.get("to_replay") == 1,
          f"replay --dry-run with the first and the last command: 1 to replay ({rc})")
    env.lms_post("/_sandbox/faults", {"tenant": "rej", "error_rate": None})
    before = end_offsets()
    rc, lines, err = replay_tool(support_conf, "replay", "--integration", "rej-degreed", "--yes")
    text = err + "\n" + json.dumps(lines)
    named = [l for l in text.splitlines()
             if f"WRITE on topic {TOPIC}" in l]
    summary = lines[-1] if lines else {}
    check(rc == 1 and named and summary.get("replayed") == 0 and end_offsets() == before,
          f"replay without Write on {TOPIC}: exit {rc}, nothing republished, the ACL named: "
          f"{named[0][-400:] if named else text[-300:]}")
    for args in writes:
        kafka_acls(*args)
        s_entries |= acl_entries(args)
    wait_acls(f"User:{SUPPORT}", s_entries)
    before = end_offsets()
    rc, lines, err = replay_tool(support_conf, "replay", "--integration", "rej-degreed", "--yes")
    summary = lines[-1] if lines else {}
    check(rc == 0 and summary.get("replayed") == 1 and
          sum(end_offsets().values()) == sum(before.values()) + 1,
          f"replay with the README's three commands: 1 record republished to {TOPIC} ({rc})")
    note(f"User:{SUPPORT}: {acl_text(s_entries)}")
    w = SaslWorker(env, PW_REF, pw_env)
    wait_for(lambda: len(delivered("rej")) == 1, 120, "the replayed completion")
    wait_for(all_committed, 60, "the offsets committed to the end")
    check(len(delivered("rej")) == 1 and all_committed(),
          "the worker delivers the replayed completion and commits")
    w.stop_and_check("the worker (replayed record)")

    # the Describe ACLs are implied by Read and Write
    described = {e for e in documented if e[4] == "describe"}
    for e in described:
        remove_acl(e)
    minimal = documented - described
    wait_acls(f"User:{USER}", minimal)
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": {
        "rate": 1, "status": 429, "retry_after": 31, "api": "degreed"}})
    env.produce_many(TOPIC, [("a-m", completion("a-m", "acme", "a-m")),
                             ("bad2", "not json"), ("s2", completion("s2", "slow", "s2"))])
    w = SaslWorker(env, PW_REF, pw_env)
    wait_for(lambda: len(env.consume_all(DLQ)) == 3 and len(delivered("acme")) == N + 1 and
             w.metric("lmsbridge_events_consumed_total", topic=RETRY) >= 1, 120,
             "delivered, dead-lettered and parked without Describe")
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": None})
    wait_for(lambda: len(delivered("slow")) == 2, 120, "the second parked completion")
    wait_for(all_committed, 60, "the offsets committed to the end")
    check(all_committed() and not [l for l in w.logs() if l.get("missing_acl")],
          f"without the {len(described)} Describe ACLs (implied by Read and Write) the worker "
          f"starts, delivers, parks, dead-letters and commits: {acl_text(minimal)}")
    w.stop_and_check("the worker (no Describe ACL)")
    grant(described)
    wait_acls(f"User:{USER}", documented)

    # each Read and Write ACL is needed (the Describe ones kept): without
    # it the worker says which
    def without(entry, produce, expect):
        remove_acl(entry)
        wait_acls(f"User:{USER}", documented - {entry})
        acme_before = len(delivered("acme"))
        env.produce_many(TOPIC, produce)
        w = SaslWorker(env, PW_REF, pw_env, wait=False)
        _, rtype, name, _, op = entry
        acl = f"{op.upper()} on {rtype} {name}"
        line = wait_for(lambda: [l for l in w.logs() if l.get("missing_acl") == acl] or
                        w.proc.poll() is not None, 120, f"the error without {acl}")
        bad = [l for l in w.logs() if l.get("missing_acl") == acl]
        check(bad and bad[0]["level"] == "error" and w.proc.poll() is None and
              bad[0].get("user") == USER and expect(w, acme_before),
              f"without {acl}: {bad[0]['msg'] if bad else 'no line naming the ACL'} "
              f"({bad[0].get('error') if bad else w.tail()[-300:]})")
        grant([entry])
        wait_acls(f"User:{USER}", documented)
        wait_for(all_committed, 120, f"{acl} granted: the offsets at the end")
        wait_for(lambda: readyz(w) == 200, 60, f"{acl} granted: ready")
        check(all_committed() and w.proc.poll() is None and readyz(w) == 200,
              f"{acl} granted: the worker goes on by itself and commits to the end")
        w.stop_and_check(f"the worker (without {acl})")

    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": None})
    without((f"User:{USER}", "group", GROUP, "literal", "read"),
            [("a-g", completion("a-g", "acme", "a-g"))],
            lambda w, _: readyz(w) == 503 and not w.lines("partitions assigned"))
    # a member that holds partitions it may not read is not ready
    without((f"User:{USER}", "topic", TOPIC, "literal", "read"),
            [("a-t", completion("a-t", "acme", "a-t"))],
            lambda w, acme: len(delivered("acme")) == acme and readyz(w) == 503)
    without((f"User:{USER}", "topic", RETRY, "literal", "read"),
            [("a-r", completion("a-r", "acme", "a-r"))],
            lambda w, acme: wait_for(lambda: len(delivered("acme")) == acme + 1, 60,
                                     "the source topic still consumed") and
            readyz(w) == 503)
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": {
        "rate": 1, "status": 429, "retry_after": 31, "api": "degreed"}})
    without((f"User:{USER}", "topic", RETRY, "literal", "write"),
            [("s3", completion("s3", "slow", "s3"))],
            lambda w, _: len(env.consume_all(RETRY)) == 2)
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": None})
    note("each needed, Describe implied by them: " + acl_text(minimal))

    # ----------------------------------- 3. no WRITE on the dead-letter topic --
    # (and the retry topic's Read: its parked record waits in it meanwhile)
    dlq_write = (f"User:{USER}", "topic", DLQ, "literal", "write")
    remove_acl(dlq_write)
    wait_acls(f"User:{USER}", documented - {dlq_write})
    before = end_offsets()[0]
    env.produce_many(TOPIC, [("p0", completion("p0", "acme", "p0")), ("bad3", "{}"),
                             ("p1", completion("p1", "acme", "p1")),
                             ("p2", completion("p2", "acme", "p2"))], partition=0)
    bad_offset = before + 1
    acme_before = len(delivered("acme"))
    w = SaslWorker(env, PW_REF, pw_env)
    line = wait_for(lambda: [l for l in w.logs() if l.get("missing_acl")], 120,
                    "the missing ACL said")[0]
    check(line["level"] == "error" and line.get("topic") == DLQ and
          line.get("missing_acl") == f"WRITE on topic {DLQ}" and
          line.get("error") == "TOPIC_AUTHORIZATION_FAILED" and line.get("user") == USER,
          f"no WRITE on {DLQ}: '{line['msg'][:70]}...' names {line.get('missing_acl')}, "
          f"{line.get('error')}, user {line.get('user')}")
    wait_for(lambda: len(delivered("acme")) == acme_before + 3, 120,
             "the valid events around it delivered")
    samples = []
    for _ in range(4):   # past several commit intervals (1 s) and write attempts
        time.sleep(1.5)
        samples.append(env.committed(GROUP, TOPIC, [0])[0])
    check(samples == [bad_offset] * 4 and len(env.consume_all(DLQ)) == 3,
          f"nothing committed past the dead letter it cannot write (offset {bad_offset}: "
          f"{samples}), though the events after it were delivered")
    check(w.proc.poll() is None and readyz(w) == 200 and
          len(w.lines("the brokers refuse a write")) <= 2,
          f"the worker stays up and keeps trying, the error said at most every 30 s "
          f"({len(w.lines('the brokers refuse a write'))} lines)")
    start = time.time()
    grant([dlq_write])
    wait_for(lambda: len(env.consume_all(DLQ)) == 4, 120, "the dead letter written")
    wait_for(all_committed, 60, "the offsets committed to the end")
    dlq = env.consume_all(DLQ)
    new = [r for r in dlq if r["key"] == "bad3"]
    check(len(new) == 1 and new[0]["headers"].get("__connect.errors.offset") == str(bad_offset)
          and all_committed(),
          f"WRITE granted: the dead letter lands once ({time.time() - start:.1f}s after the "
          f"grant) and the offsets move on to the end {committed()}")
    acme = delivered("acme")
    check(len(acme) == acme_before + 3 and sum(c["repeats"] for c in acme) == 0,
          f"0 lost: every valid event delivered once ({len(acme)})")
    w.stop_and_check("the worker (DLQ WRITE granted)")

    # ------------------------------------------------------ 2. a wrong password --
    bad_env = dict(pw_env, KAFKA_PASSWORD=WRONG_PASSWORD)
    acme_before = len(delivered("acme"))
    env.produce_many(TOPIC, [("w1", completion("w1", "acme", "w1"))])
    w = SaslWorker(env, PW_REF, bad_env, wait=False)
    line, said = auth_failure(w, "invalid credentials")
    check(said,
          f"a wrong password: one error '{line['msg'][:40]}...' with mechanism "
          f"{line.get('mechanism')} and user {line.get('user')}")
    wait_progress(lambda: len([l for l in w.logs() if "SASL authentication error" in
                               l.get("detail", "")]), 3, "more attempts", stall=120)
    check(w.proc.poll() is None and readyz(w) == 503 and w.get("/healthz")[0] == 200 and
          not w.lines("consuming"),
          "it keeps trying: alive, /readyz 503, /healthz 200, not consuming")
    check(len(w.lines("kafka authentication failed")) <= 2,
          f"the error is said at most every 30 s ({len(w.lines('kafka authentication failed'))})")
    p = run([WORKERS["completion-worker"], "--config", w.conf, "--check-config"], bad_env)
    check(p.returncode == 0 and "@env:KAFKA_PASSWORD" in p.stdout,
          "--check-config shows the password's reference only")
    # the broker takes that password now: the worker goes on by itself
    rk.add_user(USER, WRONG_PASSWORD)
    wait_for(lambda: w.lines("partitions assigned"), 120, "the worker assigned")
    wait_for(lambda: len(delivered("acme")) == acme_before + 1 and all_committed(), 120,
             "w1 delivered")
    check(readyz(w) == 200, "once the broker accepts the password the worker goes on by "
          "itself: consuming, /readyz 200, the waiting event delivered")
    w.stop_and_check("the worker (password fixed on the broker)")
    pw_env = bad_env  # the account's password from now on

    # -------------------------------------------------------------- 4. TLS --
    tls_checks(env, PW_REF, pw_env)

    secrets_check()
    env.close()
    env = None
    kr_lib.stop_and_check(rk)
finally:
    if env:
        env.close()
    rk.close(keep_logs=bool(harness.failures))
harness.finish()
