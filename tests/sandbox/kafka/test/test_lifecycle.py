"""kafka-sandbox as a process: command line checks, ready files, clean
exit 0 on SIGTERM and SIGINT with the files removed."""

import os
import signal
import subprocess

import ksb
from ksb import check


def run(args, timeout=15):
    try:
        p = subprocess.run([ksb.SANDBOX] + args, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ksb.TestFailure(f"kafka-sandbox {args} did not end")
    # Error paths free everything too (LSan reports would show here).
    ksb.check_sanitizers(p.stderr, f"kafka-sandbox {args}")
    return p


def sigint_and_sigterm_exit_0_and_remove_files():
    for sig in (signal.SIGINT, signal.SIGTERM):
        sb = ksb.Sandbox(brokers=2, topics=["a:1"])
        with sb:
            check(os.path.exists(sb.control_file), "no control file")
            check(sb.base_url.startswith("http://127.0.0.1:"),
                  f"control url {sb.base_url!r}")
            check(len(sb.bootstrap.split(",")) == 2,
                  f"bootstrap {sb.bootstrap!r}")
            with open(sb.bootstrap_file) as f:
                check(f.read().endswith("\n"), "no newline in bootstrap file")
            check(not [n for n in os.listdir(sb.dir) if ".tmp." in n],
                  f"temporary files left: {os.listdir(sb.dir)}")
            err = sb.stop(sig)
            check(not os.path.exists(sb.bootstrap_file),
                  "bootstrap file left after exit")
            check(not os.path.exists(sb.control_file),
                  "control file left after exit")
            name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
            check(f"{name} received" in err, f"stderr {err!r}")


def without_control():
    with ksb.Sandbox(brokers=1, topics=["solo:3"], control=False) as sb:
        check(not os.path.exists(sb.control_file), "control file written")
        check(sorted(sb.partitions("solo")) == [0, 1, 2], "topic solo")


def bad_command_lines_exit_2():
    cases = [
        (["--brokers", "0"], "invalid --brokers"),
        (["--brokers", "33"], "invalid --brokers"),
        (["--brokers", "three"], "invalid --brokers"),
        (["--topic", "noparts"], "invalid --topic"),
        (["--topic", "a:0"], "invalid --topic"),
        (["--topic", "a:x"], "invalid --topic"),
        (["--topic", "bad/name:1"], "invalid --topic"),
        (["--topic", ":3"], "invalid --topic"),
        (["--control", "127.0.0.1:65536"], "invalid --control"),
        (["--control", "127.0.0.1:"], "invalid --control"),
        (["--control-file", "/tmp/x"], "--control-file needs --control"),
        (["--frobnicate"], "invalid option"),
        (["--brokers"], 'option "--brokers" needs a value'),
        (["extra"], "unexpected argument"),
    ]
    for args, words in cases:
        p = run(args)
        check(p.returncode == 2, f"{args}: exit {p.returncode}, not 2")
        check(p.stderr.startswith("kafka-sandbox: ") and words in p.stderr,
              f"{args}: stderr {p.stderr!r}")


def runtime_failures_exit_1():
    p = run(["--control", "not-an-address:0"])
    check(p.returncode == 1 and "invalid control address" in p.stderr,
          f"bad host: {p.returncode} {p.stderr!r}")
    with ksb.Sandbox(brokers=1) as sb:
        port = sb.base_url.rsplit(":", 1)[1]
        p = run(["--control", f"127.0.0.1:{port}"])
        check(p.returncode == 1 and "cannot listen" in p.stderr,
              f"port in use: {p.returncode} {p.stderr!r}")
    p = run(["--topic", "dup:1", "--topic", "dup:2"])
    check(p.returncode == 1 and "already exists" in p.stderr,
          f"duplicate topic: {p.returncode} {p.stderr!r}")
    p = run(["--bootstrap-file", "/nonexistent-dir/bootstrap"])
    check(p.returncode == 1 and "cannot create" in p.stderr,
          f"unwritable file: {p.returncode} {p.stderr!r}")


def help_and_version():
    p = run(["--help"])
    check(p.returncode == 0 and "usage: kafka-sandbox" in p.stdout,
          f"--help: {p.returncode} {p.stdout!r}")
    p = run(["--version"])
    check(p.returncode == 0 and "librdkafka 2." in p.stdout,
          f"--version: {p.returncode} {p.stdout!r}")


if __name__ == "__main__":
    ksb.main({f.__name__: f for f in (
        sigint_and_sigterm_exit_0_and_remove_files, without_control,
        bad_command_lines_exit_2, runtime_failures_exit_1, help_and_version)})
