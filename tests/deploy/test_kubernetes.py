#!/usr/bin/env python3
"""deploy/kubernetes agrees with the code and with itself, for the base and
each overlay:
- the Deployments probe /readyz and /healthz (paths of common/lb_obs.c) on
  the container port of the default observability port (common/lb_config.c),
  which their configuration listens on, on every address;
- terminationGracePeriodSeconds is above the SIGTERM deadline
  (common/lb_engine.c) with room for the final flush, commit and leave;
- the configuration is the ConfigMap's file the command names, accepted by
  the worker (--check-config), its @env: references come from Secrets (or,
  kafka.group_instance_id's, from the pod's name: static membership) and
  its @file: references lie in a mounted Secret;
- the KEDA ScaledObject scales that Deployment on that configuration's
  group, source topic and brokers, between 1 and a maximum at least the
  minimum; the Service, ServiceMonitor and PodDisruptionBudget select the
  Deployment's pods; the pods run as the Dockerfile's user.
Overlays are rendered with `kubectl kustomize` (kustomize 4 or later) when
it is installed; without it, their patches are checked against the base
(every patched object and JSON-patch path exists); test_configs.py
checks their configuration files either way."""
import os
import re
import shutil
import subprocess
import tempfile

import yaml

from deploy_lib import (DEPLOY, ConfigCheck, check, code_defaults, finish, read, rel,
                        strip_comments)

K8S = os.path.join(DEPLOY, "kubernetes")
BASE = os.path.join(K8S, "base")
OVERLAYS = sorted(os.path.join(K8S, "overlays", d)
                  for d in os.listdir(os.path.join(K8S, "overlays")))
# scripts/bench.sh: completion-worker's peak RSS, 256 requests in flight.
BENCH_PEAK_RSS_MIB = 42
defaults = code_defaults()
deadline_s = defaults["shutdown_ms"] / 1000


def kubectl_kustomize():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return None
    p = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"Kustomize Version: v(\d+)", p.stdout)
    return kubectl if m and int(m.group(1)) >= 4 else None


KUBECTL = kubectl_kustomize()


def load(path):
    return [d for d in yaml.safe_load_all(read(path)) if d is not None]


def render(directory):
    """The objects of a kustomization: kubectl kustomize, or for the base
    without it, its resources and generated ConfigMaps (no hash suffix)."""
    if KUBECTL:
        p = subprocess.run([KUBECTL, "kustomize", directory], capture_output=True, text=True,
                           timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"kubectl kustomize {rel(directory)}: {p.stderr.strip()}")
        return [d for d in yaml.safe_load_all(p.stdout) if d]
    k = load(os.path.join(directory, "kustomization.yaml"))[0]
    objs = []
    for r in k.get("resources", []):
        objs += load(os.path.join(directory, r))
    for g in k.get("configMapGenerator", []):
        data = {}
        for f in g.get("files", []):
            key, _, src = f.partition("=")
            data[key] = read(os.path.join(directory, src))
        objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": g["name"]}, "data": data})
    return objs


def by_kind(objs, kind):
    return [o for o in objs if o.get("kind") == kind]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def mib(q):
    m = re.fullmatch(r"(\d+)(Mi|Gi)", str(q))
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1) if m else None


docker_user = re.search(r"^USER\s+(\d+)", read(os.path.join(DEPLOY, "docker", "Dockerfile")), re.M)
docker_uid = int(docker_user.group(1)) if docker_user else None


def check_set(name, objs):
    deployments = by_kind(objs, "Deployment")
    check(len(deployments) == 2, f"{name}: two Deployments")
    cms = {c["metadata"]["name"]: c for c in by_kind(objs, "ConfigMap")}
    auths = {a["metadata"]["name"] for a in by_kind(objs, "TriggerAuthentication")}
    for dep in deployments:
        dn = dep["metadata"]["name"]
        where = f"{name}: Deployment {dn}"
        spec = dep["spec"]
        pod = spec["template"]["spec"]
        pod_labels = spec["template"]["metadata"].get("labels", {})
        c = pod["containers"][0]
        check("replicas" not in spec, f"{where}: no replicas (KEDA owns the count)")
        check(spec.get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable") == 0,
              f"{where}: rolling updates never run the group short")

        # the port and the probes
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        check(ports.get("metrics") == defaults["port"],
              f"{where}: container port metrics = {ports.get('metrics')} (code default "
              f"{defaults['listen']})")
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = c.get(probe, {}).get("httpGet", {})
            port = get.get("port")
            check(get.get("path") == path and path in defaults["paths"] and
                  (port == "metrics" or port == defaults["port"]),
                  f"{where}: {probe} GET {get.get('path')} on port {port} (lb_obs.c serves "
                  f"{sorted(defaults['paths'])})")
        grace = pod.get("terminationGracePeriodSeconds")
        check(grace is not None and grace >= deadline_s + 10,
              f"{where}: terminationGracePeriodSeconds {grace} is above the SIGTERM deadline "
              f"({deadline_s:g} s) with room for the final flush, commit and leave")
        ann = spec["template"]["metadata"].get("annotations", {})
        check(ann.get("prometheus.io/port") == str(defaults["port"]) and
              ann.get("prometheus.io/path") == "/metrics",
              f"{where}: scrape annotations name /metrics on {ann.get('prometheus.io/port')}")
        sc = pod.get("securityContext", {})
        check(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == docker_uid,
              f"{where}: runs as non-root uid {sc.get('runAsUser')} (Dockerfile USER {docker_uid})")
        res = c.get("resources", {})
        req = mib(res.get("requests", {}).get("memory"))
        lim = mib(res.get("limits", {}).get("memory"))
        check(req and lim and BENCH_PEAK_RSS_MIB < req <= lim and lim >= 4 * BENCH_PEAK_RSS_MIB,
              f"{where}: memory request {req} MiB, limit {lim} MiB, above the "
              f"{BENCH_PEAK_RSS_MIB} MiB measured")

        # the configuration the command names
        cmd = c.get("command", []) + c.get("args", [])
        worker = os.path.basename(cmd[0]) if cmd else ""
        conf_path = cmd[cmd.index("--config") + 1] if "--config" in cmd else ""
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mount = next((m for m in c.get("volumeMounts", [])
                      if os.path.dirname(conf_path) == m["mountPath"].rstrip("/")), None)
        cm_name = volumes.get(mount["name"], {}).get("configMap", {}).get("name") if mount else None
        text = cms.get(cm_name, {}).get("data", {}).get(os.path.basename(conf_path))
        if not check(worker in ("catalog-worker", "completion-worker") and text,
                     f"{where}: runs {worker} with {conf_path}, the ConfigMap {cm_name}'s file"):
            continue
        tmp = tempfile.mkdtemp(prefix="lb-k8s-")
        try:
            path = os.path.join(tmp, os.path.basename(conf_path))
            with open(path, "w") as f:
                f.write(text)
            cc = ConfigCheck(path)
            try:
                summary = cc.summary(worker)
            except RuntimeError as e:
                check(False, f"{where}: {e}")
                continue
            finally:
                cc.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        kafka = summary.get("kafka", {})
        listen = summary.get("observability", {}).get("listen", "")
        check(listen == f"0.0.0.0:{ports.get('metrics')}",
              f"{where}: the configuration listens on {listen}")
        env_secrets = {e["name"] for e in c.get("env", [])
                       if e.get("valueFrom", {}).get("secretKeyRef")}
        pod_name = {e["name"] for e in c.get("env", [])
                    if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") ==
                    "metadata.name"}
        text = strip_comments(text)
        instance = re.findall(r'group_instance_id\s*=\s*"@env:([A-Za-z0-9_]+)"', text)
        check(len(instance) == 1 and instance[0] in pod_name and
              kafka.get("group_instance_id", "").endswith(f"from @env:{instance[0]} "
                                                          "(static membership)"),
              f"{where}: kafka.group_instance_id is the pod's name ({instance}, from "
              f"{sorted(pod_name)}; --check-config: {kafka.get('group_instance_id')})")
        env_refs = set(re.findall(r'"@env:([A-Za-z0-9_]+)"', text)) - set(instance)
        check(env_refs <= env_secrets,
              f"{where}: @env: references {sorted(env_refs)} come from Secrets")
        secret_mounts = [m["mountPath"].rstrip("/") for m in c.get("volumeMounts", [])
                         if volumes.get(m["name"], {}).get("secret")]
        file_refs = set(re.findall(r'"@file:([^"]+)"', text))
        check(file_refs and all(os.path.dirname(f) in secret_mounts for f in file_refs),
              f"{where}: {len(file_refs)} @file: references lie in a mounted Secret "
              f"{secret_mounts}")

        # its scaling
        sos = [s for s in by_kind(objs, "ScaledObject")
               if s["spec"]["scaleTargetRef"]["name"] == dn]
        if not check(len(sos) == 1, f"{where}: one ScaledObject scales it"):
            continue
        so = sos[0]["spec"]
        trig = so["triggers"][0]
        md = trig.get("metadata", {})
        check(trig.get("type") == "kafka" and md.get("consumerGroup") == kafka.get("group_id") and
              md.get("topic") == kafka.get("topics", "").split(",")[0].strip() and
              md.get("bootstrapServers") == kafka.get("brokers"),
              f"{where}: KEDA watches group {md.get('consumerGroup')}, topic {md.get('topic')}, "
              f"brokers {md.get('bootstrapServers')} (the configuration: {kafka.get('group_id')}, "
              f"{kafka.get('topics')}, {kafka.get('brokers')})")
        lo, hi = so.get("minReplicaCount"), so.get("maxReplicaCount")
        check(isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi and
              md.get("allowIdleConsumers") == "false",
              f"{where}: {lo} to {hi} replicas, never more than the partitions")
        check(trig.get("authenticationRef", {}).get("name") in auths,
              f"{where}: the trigger's TriggerAuthentication exists")

        # who selects its pods
        svcs = [s for s in by_kind(objs, "Service")
                if selects(s["spec"].get("selector"), pod_labels)]
        check(len(svcs) == 1 and any(p.get("targetPort") in ("metrics", defaults["port"])
                                     for p in svcs[0]["spec"]["ports"]),
              f"{where}: a Service exposes its metrics port")
        if svcs:
            sms = [m for m in by_kind(objs, "ServiceMonitor")
                   if selects(m["spec"]["selector"].get("matchLabels"),
                              svcs[0]["metadata"].get("labels", {}))]
            port_names = {p.get("name") for p in svcs[0]["spec"]["ports"]}
            check(len(sms) == 1 and all(e.get("port") in port_names and e.get("path") == "/metrics"
                                        for e in sms[0]["spec"]["endpoints"]),
                  f"{where}: a ServiceMonitor scrapes its Service's /metrics")
        pdbs = [p for p in by_kind(objs, "PodDisruptionBudget")
                if selects(p["spec"]["selector"].get("matchLabels"), pod_labels)]
        check(len(pdbs) == 1 and pdbs[0]["spec"].get("maxUnavailable") == 1,
              f"{where}: a PodDisruptionBudget lets one member go at a time")


check_set("base", render(BASE))

for overlay in OVERLAYS:
    name = rel(overlay)
    if KUBECTL:
        check_set(name, render(overlay))
        continue
    # without kustomize: the patches fit the base, the configurations parse
    print(f"NOTE: kubectl with kustomize 4+ not found: {name} checked against the base only")
    base = render(BASE)
    k = load(os.path.join(overlay, "kustomization.yaml"))[0]
    for p in k.get("patches", []):
        target = p.get("target", {})
        docs = load(os.path.join(overlay, p["path"]))
        if docs and isinstance(docs[0], list):
            objs = [o for o in base if o.get("kind") == target.get("kind") and
                    target.get("name", o["metadata"]["name"]) == o["metadata"]["name"]]
            for o in objs:
                for op in docs[0]:
                    node, ok = o, True
                    parts = op["path"].strip("/").split("/")
                    for part in parts[:-1] if op["op"] == "add" else parts:
                        node = node[int(part)] if isinstance(node, list) else node.get(part)
                        ok = ok and node is not None
                        if not ok:
                            break
                    check(ok, f"{name}: {p['path']} {op['op']} {op['path']} on "
                          f"{o['kind']} {o['metadata']['name']}")
            check(bool(objs), f"{name}: {p['path']} targets objects of the base")
        else:
            for d in docs:
                check(any(o.get("kind") == d.get("kind") and
                          o["metadata"]["name"] == d["metadata"]["name"] for o in base),
                      f"{name}: {p['path']} patches {d.get('kind')} {d['metadata']['name']}")
finish()
