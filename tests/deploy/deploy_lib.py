"""Shared by the tests of deploy/: paths, PASS/FAIL reporting, the code's
defaults read from the C sources, configurations checked with the built
workers (stand-in secrets), and PromQL metric extraction.

Environment (set by ctest): LB_BIN_DIR, the build directory.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(SOURCE, "deploy")
BIN = os.path.abspath(os.environ.get("LB_BIN_DIR", os.path.join(SOURCE, "build")))
WORKER_NAMES = ("catalog-worker", "completion-worker")
SKIP = 77  # ctest SKIP_RETURN_CODE

# the same PASS/FAIL reporting as the end-to-end tests
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
from harness import check, finish  # noqa: E402,F401


def worker_bin(name):
    return os.path.join(BIN, "workers", name, name)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def deploy_files(*patterns):
    out = []
    for p in patterns:
        out += glob.glob(os.path.join(DEPLOY, "**", p), recursive=True)
    return sorted(set(out))


def rel(path):
    return os.path.relpath(path, SOURCE)


# ---- the code's defaults, read from the sources ----

def _grep(path, pattern, what):
    m = re.search(pattern, read(os.path.join(SOURCE, path)))
    if not m:
        raise RuntimeError(f"{path}: cannot find {what} (pattern {pattern!r})")
    return m.group(1)


def code_defaults():
    """What the deploy files must agree with: the SIGTERM deadline and the
    revoke grace (lb_engine.c), the default observability listen address
    (lb_config.c) and the HTTP paths of the observability server
    (lb_obs.c)."""
    listen = _grep("common/lb_config.c",
                   r'observability\.listen\s*=\s*dup_or_flag\(c,\s*"([^"]+)"\)',
                   "the default observability.listen")
    obs = read(os.path.join(SOURCE, "common/lb_obs.c"))
    paths = set(re.findall(r'strcmp\(url,\s*"(/[a-z]+)"\)', obs))
    return {
        "shutdown_ms": int(_grep("common/lb_engine.c",
                                 r"opts\.shutdown_timeout_ms\s*=\s*(\d+)\s*;",
                                 "the shutdown deadline")),
        "revoke_ms": int(_grep("common/lb_engine.c",
                               r"opts\.revoke_timeout_ms\s*=\s*(\d+)\s*;", "the revoke grace")),
        "listen": listen,
        "port": int(listen.rsplit(":", 1)[1]),
        "paths": paths,
    }


# ---- configurations, checked by the workers themselves ----

STAND_IN = "stand-in-secret-"  # what a secret (a password, a client secret) reads here
STAND_IN_ID = "stand-in-id-"    # what other references (client ids, user names) read


def stand_in(name):
    secret = any(w in name.lower() for w in ("secret", "password"))
    return (STAND_IN if secret else STAND_IN_ID) + name.lower()


class ConfigCheck:
    """A copy of a deploy/ configuration that the built worker can load
    here: every "@env:NAME" gets a stand-in value, every "@file:PATH" (absolute
    or relative) a stand-in file under a temporary root, and
    '@include "/etc/lmsbridge/X"' points at the copy of deploy's X (found
    next to the file). Then --check-config prints the worker's own summary."""

    def __init__(self, path):
        self.path = path
        self.tmp = tempfile.mkdtemp(prefix="lb-deploy-conf-")
        self.env = {}
        self.conf = self._copy(path)

    def _copy(self, path):
        text = strip_comments(read(path))

        def include(m):
            target = os.path.join(os.path.dirname(path), os.path.basename(m.group(1)))
            return f'@include "{self._copy(target)}"'
        text = re.sub(r'@include\s+"([^"]+)"', include, text)
        for name in re.findall(r'"@env:([A-Za-z_][A-Za-z0-9_]*)"', text):
            self.env[name] = stand_in(name)

        def file_ref(m):
            ref = m.group(1)
            target = os.path.join(self.tmp, "files", ref.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as f:
                f.write(stand_in(os.path.basename(ref)) + "\n")
            return f'"@file:{target}"'
        text = re.sub(r'"@file:([^"]+)"', file_ref, text)
        out = os.path.join(self.tmp, os.path.basename(path))
        with open(out, "w") as f:
            f.write(text)
        return out

    def run(self, worker):
        env = dict(os.environ)
        env.update(self.env)
        p = subprocess.run([worker_bin(worker), "--config", self.conf, "--check-config"],
                           capture_output=True, text=True, env=env, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def summary(self, worker):
        """{section: {key: value}} from --check-config, or raises."""
        rc, out, err = self.run(worker)
        if rc != 0:
            raise RuntimeError(f"{rel(self.path)}: --check-config exit {rc}: {err.strip()}")
        return parse_summary(out)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def parse_summary(text):
    out, section = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            section = out.setdefault(line[:-1], {})
        elif line.startswith("  ") and section is not None and ": " in line:
            k, _, v = line.strip().partition(": ")
            section[k] = v
    return out


def strip_comments(text):
    """A libconfig file without its comments (#, //, /* */), strings kept."""
    return re.sub(r'("(?:[^"\\]|\\.)*")|/\*.*?\*/|(?:#|//)[^\n]*',
                  lambda m: m.group(1) or "\n" * m.group(0).count("\n"), text, flags=re.S)


def worker_of(path):
    """The worker a configuration file is for, from its name."""
    base = os.path.basename(path)
    for w in WORKER_NAMES:
        if base.startswith(w):
            return w
    return None


# ---- PromQL ----

# Functions and aggregation operators of PromQL (Prometheus 2.x), and the
# keywords: any other identifier in an expression is a metric name.
PROMQL_FUNCTIONS = set("""
abs absent absent_over_time avg_over_time ceil changes clamp clamp_max clamp_min
count_over_time day_of_month day_of_week day_of_year days_in_month delta deriv exp
floor histogram_quantile holt_winters hour idelta increase irate label_join
label_replace last_over_time ln log10 log2 max_over_time min_over_time minute month
predict_linear present_over_time quantile_over_time rate resets round scalar sgn sort
sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time time timestamp vector
year acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad pi
histogram_count histogram_sum histogram_fraction
sum min max avg group stddev stdvar count count_values bottomk topk quantile
""".split())
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and",
                   "or", "unless", "bool", "offset", "inf", "nan"}
LABEL_LIST_RE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")


class Selector:
    def __init__(self, metric, matchers):
        self.metric = metric
        self.matchers = matchers  # [(label, op, value)]


def promql_parse(expr):
    """(metric names, selectors, grouping label lists, unknown functions)
    of one expression; Grafana variables ($job, ${x}, $__rate_interval)
    count as values."""
    strings = []

    def hide(m):  # string literals out of the way first ("[.]" is no range)
        strings.append(m.group(1))
        return f'"{len(strings) - 1}"'
    e = re.sub(r'"((?:[^"\\]|\\.)*)"', hide, expr)
    e = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "VAR", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)  # ranges and subqueries
    e = re.sub(r"\boffset\s+-?[0-9a-zA-Z]+", " ", e)
    selectors = []

    def selector(m):
        metric = m.group(1)
        matchers = [(l, op, strings[int(i)]) for l, op, i in
                    re.findall(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"(\d+)"', m.group(2))]
        selectors.append(Selector(metric, matchers))
        return f" {metric or ''} "
    e = re.sub(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^{}]*)\}", selector, e)
    groupings = [[l.strip() for l in m.group(2).split(",") if l.strip()]
                 for m in LABEL_LIST_RE.finditer(e)]
    e = LABEL_LIST_RE.sub(" ", e)
    e = re.sub(r'"\d+"', " ", e)
    e = re.sub(r"(?<![A-Za-z0-9_:])\d+(\.\d+)?([eE][+-]?\d+)?", " ", e)
    names, unknown_functions = set(), set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        following = e[m.end():].lstrip()
        if following.startswith("("):
            if word not in PROMQL_FUNCTIONS:
                unknown_functions.add(word)
        elif word.lower() in PROMQL_KEYWORDS or word == "VAR":
            continue
        else:
            names.add(word)
    for s in selectors:
        if s.metric:
            names.add(s.metric)
    return names, selectors, groupings, unknown_functions


def grafana_queries(dashboard):
    """(where, expression) of every query of a dashboard: panel targets
    (rows' panels too) and query variables (label_values(selector, label)
    gives its selector)."""
    out = []

    def panels(ps):
        for p in ps:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((f'panel "{p.get("title")}"', t["expr"]))
            panels(p.get("panels", []))
    panels(dashboard.get("panels", []))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$", q or "")
        out.append((f'variable "{v.get("name")}"', m.group(1) if m else q))
    return out


def rule_queries(rules):
    return [(f'rule "{r.get("alert") or r.get("record")}"', r["expr"])
            for g in rules.get("groups", []) for r in g.get("rules", [])]


def parse_exposition(text):
    """Prometheus text format -> {sample name: [label dict, ...]}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+\S+$", line)
        if not m:
            continue
        labels = dict(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.setdefault(m.group(1), []).append(labels)
    return out
