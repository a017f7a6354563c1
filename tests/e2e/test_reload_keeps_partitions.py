#!/usr/bin/env python3
"""A SIGHUP whose file keeps the kafka settings does not rebalance the
group: the worker drains and commits as before, but keeps its consumer, its
membership and its partitions, and goes on with the new file at once (each
partition from its committed offset, so records it had fetched but not
started are fetched again). Two members; 300 events, both reloaded with a
new customer in the middle, through a slow LMS so that work is in flight:
every event is delivered, none twice; no member revokes or is assigned
anything; the reloaded members deliver again within seconds (here, on the mock cluster, a rejoin would take
session.timeout.ms - 1 s: 5 s). A SIGHUP that changes a kafka property
makes new clients, which join the group anew, with an observability server
of their own (listen port 0: another port); one that changes
observability.listen keeps the clients and moves /metrics and /readyz to
the new address. Either way the old port is closed, and the harness
follows the worker's latest "consuming" line (Worker.metrics_port)."""
import signal
import socket
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish,
                     finished, http, ns, wait_for, wait_progress, worker_config_path)

SECRET = "e2e-reloadkeep-secret-10"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:4", f"{TOPIC}.retry:4", f"{TOPIC}.dlq:1"]
GROUP = ns("completion-worker")
N = 300


def rebalances(w):
    return [l for l in w.logs()
            if l.get("msg") in ("partitions assigned", "partitions revoked, handing back",
                                "partitions lost")]


def ready(w):
    """/readyz answers 200 where the harness reaches the member: the port of
    its latest "consuming" line."""
    try:
        return w.get("/readyz")[0] == 200
    except OSError:
        return False


def refused(port):
    """Nothing listens on the port any more."""
    try:
        http("GET", f"http://127.0.0.1:{port}/readyz")
        return False
    except OSError:
        return True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def completions(tenant):
    return env.state(tenant)["degreed"]["completions"]


env = Env(TOPICS, [degreed_tenant("acme", SECRET, users=[f"u{i}@acme.example"
                                                         for i in range(N)]),
                   degreed_tenant("globex", SECRET), degreed_tenant("initech", SECRET)])
try:
    acme = degreed_integration(env, "acme-degreed", "acme", "SECRET")
    a = env.worker("completion-worker", acme, env={"SECRET": SECRET})
    b = env.worker("completion-worker", acme, env={"SECRET": SECRET})

    def split():
        x = sum(v for l, v in a.series("lmsbridge_assigned_partitions"))
        y = sum(v for l, v in b.series("lmsbridge_assigned_partitions"))
        return x > 0 and y > 0 and x + y == 8
    wait_for(split, 90, "the two members' split")
    before_a, before_b = len(rebalances(a)), len(rebalances(b))
    held = {l["topic"]: v for l, v in a.series("lmsbridge_assigned_partitions")}

    # a slow LMS: deliveries are in flight when the SIGHUP comes
    env.lms_post("/_sandbox/faults", {"tenant": "acme", "latency": {"ms": 300}})
    env.produce_many(TOPIC, [(f"u{i}", completion(f"e{i}", "acme", f"u{i}"))
                             for i in range(N)])
    wait_progress(lambda: len(completions("acme")), N // 4, "a quarter delivered")

    # a customer added on every member, as an operator does
    globex = degreed_integration(env, "globex-degreed", "globex", "SECRET")
    for w in (a, b):
        text = open(worker_config_path(w)).read()
        with open(worker_config_path(w), "w") as f:
            f.write(text.replace(acme, acme + ", " + globex))
    t0 = time.time()
    a.proc.send_signal(signal.SIGHUP)
    b.proc.send_signal(signal.SIGHUP)
    env.produce_many(TOPIC, [("g1", completion("g1", "globex", "g1"))])
    for w in (a, b):
        reloaded = wait_for(lambda: [l for l in w.logs()
                                     if l.get("msg") == "configuration reloaded"], 180, "the reload")
        check(reloaded[0].get("kafka") == "same clients, partitions kept",
              f"the reload keeps the Kafka clients ({reloaded[0].get('kafka')})")
    wait_for(lambda: a.get("/readyz")[0] == 200 and b.get("/readyz")[0] == 200, 120,
             "ready again")
    ready_s = time.time() - t0
    wait_for(lambda: len(completions("globex")) == 1, 120, "the new customer's event")
    first_s = time.time() - t0
    print(f"INFO: the reloaded members are ready in {ready_s:.1f} s and deliver the new "
          f"customer's event in {first_s:.1f} s", flush=True)

    env.lms_post("/_sandbox/faults", {"tenant": "acme", "latency": None})
    wait_progress(lambda: len(completions("acme")), N, "every event delivered")
    finished(env, GROUP, [TOPIC, f"{TOPIC}.retry"], [a, b])   # the LMS state is final
    done = completions("acme")
    check(len(done) == N and sum(c["repeats"] for c in done) == 0,
          f"all {N} events delivered, none twice ({len(done)}, "
          f"{sum(c['repeats'] for c in done)} repeats)")
    check(len(rebalances(a)) == before_a and len(rebalances(b)) == before_b,
          "no member revoked or was assigned anything: no rebalance")
    check({l["topic"]: v for l, v in a.series("lmsbridge_assigned_partitions")} == held,
          f"the reloaded member holds the same partitions ({held})")
    share = a.metric("lmsbridge_rate_limit_share")
    check(share == held[TOPIC] / 4,
          f"the reloaded member's rate-limit share is its part of the source partitions "
          f"({share}, {held[TOPIC]} of 4)")
    drained = [l for l in a.logs() + b.logs() if l.get("msg") == "drained for the reload"]
    check(len(drained) == 2, f"each reload drained in-flight work first ({drained})")

    # a kafka property changes, and a customer is added with it: new
    # clients, which join the group anew (the old engine leaves under the
    # old file, the new one starts with three integrations); the other
    # member gains the customer and moves its observability server to a
    # port of the test's choosing (the same clients)
    initech = degreed_integration(env, "initech-degreed", "initech", "SECRET")
    port_a, port_b, moved_b = a.metrics_port, b.metrics_port, free_port()
    for w in (a, b):
        conf = worker_config_path(w)
        text = open(conf).read().replace(globex, globex + ", " + initech)
        if w is a:
            text = text.replace('["heartbeat.interval.ms", "500"]',
                                '["heartbeat.interval.ms", "400"]')
        else:
            text = text.replace('listen = "127.0.0.1:0";', f'listen = "127.0.0.1:{moved_b}";')
        with open(conf, "w") as f:
            f.write(text)
        w.proc.send_signal(signal.SIGHUP)
    for w in (a, b):
        wait_for(lambda: len([l for l in w.logs()
                              if l.get("msg") == "configuration reloaded"]) == 2,
                 180, "the second reload")
    second = [l for l in a.logs() if l.get("msg") == "configuration reloaded"][1]
    check(second.get("kafka") == "new clients" and "kafka settings changed" in second.get("why", "")
          and second.get("integrations") == 3,
          f"a changed kafka property: new clients ({second.get('kafka')}, {second.get('why')}, "
          f"{second.get('integrations')} integrations)")
    wait_for(lambda: any(l.get("msg") == "partitions assigned" and l.get("count", 0) > 0
                         for l in rebalances(a)[before_a:]), 120, "the new clients' assignment")
    wait_for(lambda: ready(a) and ready(b), 120, "both ready after the rejoin")
    second_b = [l for l in b.logs() if l.get("msg") == "configuration reloaded"][1]
    check(second_b.get("kafka") == "same clients, partitions kept",
          f"a changed observability.listen keeps the Kafka clients ({second_b.get('kafka')})")
    check(a.metrics_port != port_a and refused(port_a),
          f"the new clients serve /metrics on a new port ({port_a} -> {a.metrics_port}), "
          "the old one is closed")
    check(b.metrics_port == moved_b and refused(port_b),
          f"the moved observability server listens on {moved_b} (was {port_b}, now closed)")
    a_held = sum(v for _, v in a.series("lmsbridge_assigned_partitions"))
    check(a_held > 0 and b.metric("lmsbridge_events_consumed_total", topic=TOPIC) > 0,
          f"the harness reads both members' metrics at their latest ports (a holds "
          f"{a_held:.0f} partitions, b's consumed count carried over)")
    env.produce_many(TOPIC, [(f"i{i}", completion(f"i{i}", "initech", f"i{i}")) for i in range(12)])
    wait_progress(lambda: len(env.state("initech")["degreed"]["completions"]), 12,
                  "the added customer's events after the rejoin")
    finished(env, GROUP, [TOPIC, f"{TOPIC}.retry"], [a, b])   # the LMS state is final
    got = env.state("initech")["degreed"]["completions"]
    check(len(got) == 12 and sum(c["repeats"] for c in got) == 0,
          f"after the rejoin the group delivers the added customer's 12 events once each "
          f"({len(got)}, {sum(c['repeats'] for c in got)} repeats)")
    a.stop_and_check("reloaded member")
    b.stop_and_check("other member")
finally:
    env.close()
finish()
