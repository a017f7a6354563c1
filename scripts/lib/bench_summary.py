#!/usr/bin/env python3
"""The cost of a delivered completion against its goals (docs/cost.md), from
the figures one run of scripts/bench.sh recorded (bench_harness.record: one
JSON object a line) and wrk's request rate on the same endpoint:

  bench_summary.py RESULTS_FILE WRK_RATE

A figure whose bench did not run (valgrind missing, no real Kafka) is
said to be missing, not guessed.
"""
import json
import sys

LMS_MS = 50  # the LMS latency of the latency goal
SANDBOX_NOTE = ("  (kafka-sandbox answers a fetch that finds nothing new only after the "
                "consumer's fetch.wait.max.ms,\n  100 ms: its latency is not a broker's; "
                "a real Kafka's is, in its section when the run had one)")


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def find(results, bench, **match):
    """The last result of `bench` whose fields equal `match`, else None."""
    hits = [r for r in results if r["bench"] == bench and
            all(r.get(k) == v for k, v in match.items())]
    return hits[-1] if hits else None


def engine_rows(results, kafka, wrk):
    """(what, figure, goal, met) of the end-to-end runs on `kafka`."""
    out = []
    big = [r for r in results if r["bench"] == "engine" and r["kafka"] == kafka and
           r["latency_ms"] == 0 and r["in_flight"] == 256 and r["workers"] == 1]
    big.sort(key=lambda r: r["events"])
    if big:
        b = big[-1]
        ratio = b["rate"] / wrk if wrk else 0
        out.append((f"completions/s at 0 ms, 256 in flight, {b['events']:,} events",
                    f"{b['rate']:,.0f} = {ratio:.2f} x wrk's {wrk:,.0f} req/s" if wrk
                    else f"{b['rate']:,.0f} (no wrk rate)", ">= 0.5 x wrk",
                    ratio >= 0.5 if wrk else None))
        out.append((f"CPU per delivered completion (0 ms, {b['events']:,} events)",
                    f"{b['cpu_us']:.0f} us", "<= 30 us", b["cpu_us"] <= 30))
        rss = ", ".join(f"{r['peak_rss_mib']:.0f} MiB with {r['events']:,} events"
                        for r in reversed(big))
        out.append(("peak RSS at 256 in flight, 0 ms", rss, "<= 32 MiB",
                    max(r["peak_rss_mib"] for r in big) <= 32))
    slow = find(results, "engine", kafka=kafka, latency_ms=LMS_MS, in_flight=256, workers=1)
    if slow:
        share = slow["rate"] / (256 / (LMS_MS / 1000))
        out.append((f"completions/s at {LMS_MS} ms, 256 in flight",
                    f"{slow['rate']:,.0f} = {share:.3f} of 256/{LMS_MS / 1000:g} s", ">= 0.95",
                    share >= 0.95))
        out.append((f"peak RSS at 256 in flight, {LMS_MS} ms, {slow['events']:,} events",
                    f"{slow['peak_rss_mib']:.0f} MiB", "<= 32 MiB", slow["peak_rss_mib"] <= 32))
    lat = find(results, "latency", kafka=kafka, latency_ms=LMS_MS)
    if lat:
        out.append((f"produce -> LMS at a steady {lat['offered']}/s, LMS answering in {LMS_MS} ms",
                    f"p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms; from the Kafka "
                    f"timestamp p99 {lat['kafka_to_lms_p99_ms']:.0f} ms",
                    f"p99 <= {LMS_MS + 50} ms", lat["kafka_to_lms_p99_ms"] <= LMS_MS + 50))
    return out


def cost_rows(results):
    after, before = find(results, "cost", which="after"), find(results, "cost", which="before")
    if not after:
        return [("instructions above the libcurl floor per completion", "missing (no valgrind)",
                 "<= 0.5 x before", None)]
    ours = dict(after["rows"])["ours above the floor"]
    if not before:
        return [("instructions above the libcurl floor per completion",
                 f"{ours:,.0f} (no 'before' build to compare)", "<= 0.5 x before", None)]
    was = dict(before["rows"])["ours above the floor"]
    return [("instructions above the libcurl floor per completion",
             f"{ours:,.0f}, before {was:,.0f}: {ours / was:.2f} x", "<= 0.5 x before",
             ours <= was / 2)]


def main():
    results = load(sys.argv[1])
    wrk = float(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else 0
    sections = [("kafka-sandbox", engine_rows(results, "sandbox", wrk) + cost_rows(results),
                 SANDBOX_NOTE)]
    if any(r.get("kafka") == "real" for r in results):
        sections.append(("Apache Kafka (one node)", engine_rows(results, "real", wrk), None))
    for name, rows, note in sections:
        print(f"{name}:")
        w = max(len(r[0]) for r in rows)
        f = max(len(r[1]) for r in rows)
        print(f"  {'':{w}}  {'this run':{f}}  {'goal':16} met")
        for what, figure, goal, met in rows:
            said = "-" if met is None else ("yes" if met else "no")
            print(f"  {what:{w}}  {figure:{f}}  {goal:16} {said}")
        if note:
            print(note)


if __name__ == "__main__":
    main()
