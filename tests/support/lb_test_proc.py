"""Child processes of the test tools that die with the process that
started them (Linux PR_SET_PDEATHSIG), however it dies: a ctest time-out or
a SIGKILL of the tool leaves no broker or service running.

Imported by a path relative to the importing file, so the tools stay
runnable as scripts from the source tree (kafka-real.sh, real_lrs.py)."""
import ctypes
import signal

PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)  # loaded at import, before any fork


def die_with_parent():
    """Popen preexec_fn: SIGKILL when the process that started us dies."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
