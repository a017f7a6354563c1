#!/usr/bin/env python3
"""deploy/docker/Dockerfile agrees with the project (no Docker engine runs
here, so the image itself is never built by the tests):
- the build stage installs Debian packages of scripts/lib/common.sh's
  LB_PACKAGES only, with every library -dev package but the tests' cmocka,
  and builds with CMake without the tests;
- it builds and copies exactly the executables workers/*/CMakeLists.txt
  define, each to /usr/bin;
- the runtime stage installs exactly the packages owning the shared
  libraries those executables link (readelf NEEDED of the built binaries,
  dpkg -S), besides the C library of the base image, plus CA certificates
  and curl (HEALTHCHECK);
- a non-root numeric USER, and HEALTHCHECK, ENV and EXPOSE on /healthz and
  the default observability port (common/lb_obs.c, common/lb_config.c)."""
import glob
import os
import re
import shlex
import subprocess

from deploy_lib import (BIN, DEPLOY, SOURCE, check, code_defaults, finish, read)

# In every Debian image already (the C library), and the sanitizer runtimes
# an ASan/UBSan build links (never in the image).
BASE_PACKAGES = {"libc6", "libgcc-s1"}
SANITIZER_PREFIXES = ("libasan", "libubsan", "liblsan", "libtsan")
TEST_ONLY = {"libcmocka-dev", "libclang-rt-dev"}  # cmocka: unit tests; clang-rt: libFuzzer

text = read(os.path.join(DEPLOY, "docker", "Dockerfile"))
joined = re.sub(r"\\\n", " ", text)  # continuation lines joined
lines = [l.strip() for l in joined.splitlines() if l.strip() and not l.strip().startswith("#")]

stages, current = {}, None
for l in lines:
    m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", l, re.I)
    if m:
        current = m.group(2) or m.group(1)
        stages[current] = {"image": m.group(1), "lines": []}
    elif current:
        stages[current]["lines"].append(l)
check(set(stages) == {"build", "runtime"} and
      all(s["image"].startswith("debian:bookworm") for s in stages.values()),
      f"two stages on Debian bookworm: {[(k, v['image']) for k, v in stages.items()]}")


def apt_packages(stage):
    out = set()
    for l in stages.get(stage, {}).get("lines", []):
        for m in re.finditer(r"apt-get install\s+([^&|;]*)", l):
            out |= {w for w in shlex.split(m.group(1)) if not w.startswith("-")}
    return out


def lb_packages():
    common = read(os.path.join(SOURCE, "scripts", "lib", "common.sh"))
    m = re.search(r"^LB_PACKAGES=\((.*?)^\)", common, re.S | re.M)
    body = re.sub(r"#[^\n]*", "", m.group(1)) if m else ""
    return set(body.split())


lb = lb_packages()
build = apt_packages("build")
check(lb and build <= lb, f"build stage packages are LB_PACKAGES: {sorted(build)}"
      + ("" if build <= lb else f" (not in LB_PACKAGES: {sorted(build - lb)})"))
want_dev = {p for p in lb if p.endswith("-dev")} - TEST_ONLY
check(want_dev <= build and {"build-essential", "cmake", "pkg-config"} <= build,
      f"build stage has every library -dev package of LB_PACKAGES but {sorted(TEST_ONLY)}"
      + ("" if want_dev <= build else f" (missing {sorted(want_dev - build)})"))

build_runs = " ".join(l for l in stages.get("build", {}).get("lines", []) if l.startswith("RUN"))
check("-DBUILD_TESTING=OFF" in build_runs and
      re.search(r"cmake\s+-S\s+\.\s+-B\s+build", build_runs),
      "build stage configures with CMake, -DBUILD_TESTING=OFF")
targets = set()
m = re.search(r"--target\s+([^&;]*)", build_runs)
if m:
    targets = set(m.group(1).split())

# the executables of workers/
defined = set()
for cm in glob.glob(os.path.join(SOURCE, "workers", "*", "CMakeLists.txt")):
    defined |= set(re.findall(r"add_executable\(\s*([A-Za-z0-9_.-]+)", read(cm)))
copies = {}
for l in stages.get("runtime", {}).get("lines", []):
    m = re.match(r"COPY\s+--from=build\s+/src/build/workers/([^/\s]+)/([^/\s]+)"
                 r"\s+/usr/bin/(\S+)", l)
    if m:
        copies[m.group(3)] = (m.group(1), m.group(2))
check(defined and set(copies) == defined,
      f"the image holds every executable of workers/ and only those: {sorted(copies)}"
      + ("" if set(copies) == defined else f" (workers/ defines {sorted(defined)})"))
check(targets == defined, f"the build stage builds them: --target {sorted(targets)}")
check(all(d == n == b for b, (d, n) in copies.items()),
      "each is copied from build/workers/<name>/<name> to /usr/bin/<name>")

# the runtime libraries, from the built executables
needed = set()
built = [os.path.join(BIN, "workers", n, n) for n in sorted(defined)]
for exe in built:
    if not os.path.exists(exe):
        check(False, f"{exe} is built")
        continue
    out = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True,
                         check=True).stdout
    needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
paths = {}
for exe in built:
    if os.path.exists(exe):
        out = subprocess.run(["ldd", exe], capture_output=True, text=True).stdout
        paths.update(re.findall(r"^\s*(\S+) => (/\S+)", out, re.M))


def owner(path):
    for p in (path, os.path.realpath(path), re.sub(r"^/usr/lib/", "/lib/", path),
              re.sub(r"^/lib/", "/usr/lib/", path)):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


owners = {}
for so in sorted(needed):
    pkg = owner(paths.get(so, so))
    check(pkg is not None, f"{so} belongs to a Debian package ({pkg})")
    if pkg:
        owners[so] = pkg
runtime_libs = {p for p in owners.values()
                if p not in BASE_PACKAGES and not p.startswith(SANITIZER_PREFIXES)}
runtime = apt_packages("runtime")
check(runtime_libs and runtime == runtime_libs | {"ca-certificates", "curl"},
      f"runtime stage installs the linked libraries' packages {sorted(runtime_libs)} plus "
      f"ca-certificates and curl: {sorted(runtime)}")

# user, health check, port
defaults = code_defaults()
runtime_lines = stages.get("runtime", {}).get("lines", [])
user = [l.split()[1] for l in runtime_lines if l.startswith("USER ")]
check(user and re.fullmatch(r"[1-9]\d*(:\d+)?", user[-1]),
      f"runs as a numeric non-root USER {user}")
health = " ".join(l for l in runtime_lines if l.startswith("HEALTHCHECK"))
env_port = re.search(r"^ENV\s+LB_HEALTH_PORT=(\d+)", "\n".join(runtime_lines), re.M)
expose = [l.split()[1] for l in runtime_lines if l.startswith("EXPOSE ")]
check("/healthz" in health and "/healthz" in defaults["paths"] and "${LB_HEALTH_PORT}" in health,
      "HEALTHCHECK asks /healthz on ${LB_HEALTH_PORT}")
check(env_port and int(env_port.group(1)) == defaults["port"] and expose == [str(defaults["port"])],
      f"LB_HEALTH_PORT and EXPOSE are the default observability port {defaults['port']}")
check(os.path.exists(os.path.join(DEPLOY, "docker", "Dockerfile.dockerignore")),
      "Dockerfile.dockerignore keeps build trees out of the context")
finish()
