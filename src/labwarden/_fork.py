"""Work done in a forked child process, for a parent that needs the result soon: the child
dies with its parent, and a child that fails costs the parent only the time to do the work
itself.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from collections.abc import Callable

_PR_SET_PDEATHSIG = 1                # <linux/prctl.h>
_F_SETPIPE_SZ = 1031                 # <linux/fcntl.h>
PIPE_SIZE = 1 << 20                  # Linux's default limit for unprivileged processes


def prepare() -> None:
    """Look up, in a parent about to fork, what `die_with_parent` needs: libc's prctl()
    through ctypes. Imported in each forked process instead, ctypes delayed the work of
    every one by ~3 ms, ~10 ms in a child forked beside two busy processes, at the end of
    a large audit where that child is what the parent waits for."""
    global _set_death_signal
    if _set_death_signal is not None or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes  # only before a fork: start-up does not pay for it
        import signal

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        _set_death_signal = False     # no usable libc: watch instead
        return

    def set_death_signal() -> bool:
        return prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    _set_death_signal = set_death_signal


# Whether the kernel will kill this process when its parent dies (False: it cannot here);
# set by prepare().
_set_death_signal: Callable[[], bool] | bool | None = None


def die_with_parent(parent: int) -> None:
    """End this forked process when its parent ends.

    A parent killed with SIGKILL cannot tell its workers, which would go on auditing (and
    holding its pipes) for nothing. On Linux the kernel kills the worker when the parent
    dies (PR_SET_PDEATHSIG); the parent may have died between fork() and the prctl(), so
    its pid is checked after. Elsewhere a thread watches for the worker being re-parented.
    The parent calls `prepare()` before forking; if it did not, it is done here.
    """
    if _set_death_signal is None:
        prepare()
    if _set_death_signal and _set_death_signal():     # type: ignore[operator]
        if os.getppid() != parent:
            os._exit(1)
        return
    if os.getppid() != parent:
        os._exit(1)
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


class InChild:
    """`compute()` started in a forked child at once; `result()` is its value, pickled back
    through a pipe, or `compute()` run here if the child could not give it (a crash, a
    signal, anything it could not pickle).

    Only for a process that runs no other threads (the command line): a fork copies a
    lock another thread holds, forever held in the child.
    """

    def __init__(self, compute: Callable[[], object]):
        self.compute = compute
        prepare()
        parent = os.getpid()
        read_end, write_end = os.pipe()
        widen_pipe(write_end)           # the child writes its answer at once, and is done
        pid = os.fork()
        if pid == 0:
            try:
                die_with_parent(parent)
                os.close(read_end)
                import pickle

                data = pickle.dumps(compute(), pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_end, "wb") as out:
                    out.write(data)
            finally:
                os._exit(0)
        os.close(write_end)
        self.pid = pid
        self.fd = read_end

    def result(self) -> object:
        with os.fdopen(self.fd, "rb") as handle:
            data = handle.read()
        if data:
            import pickle

            try:
                value = pickle.loads(data)   # a pickle cut short does not load
            except Exception:  # noqa: BLE001 - cut short: computed here instead
                pass
            else:
                reap(self.pid)
                return value
        os.waitpid(self.pid, 0)
        return self.compute()


def widen_pipe(fd: int) -> None:
    """A pipe that holds a megabyte, so that a child seldom waits for its parent to read
    (64 KiB by default: the answer of a large audit's stage child is half a megabyte)."""
    try:
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, OSError, ValueError):
        pass  # another system, or a lower limit: the default pipe, a little more waiting


def reap(pid: int) -> None:
    """Collect a forked child whose work has come back, without waiting for it to be gone:
    the end of a process that shares the parent's pages (unmapping its copy of them) takes
    milliseconds, ~3 ms for a worker of a large audit, that the parent need not spend
    waiting. Children not gone yet are collected by a later call, or by the system when
    the command line exits."""
    _unreaped.append(pid)
    for child in list(_unreaped):
        try:
            gone = os.waitpid(child, os.WNOHANG)[0] == child
        except ChildProcessError:        # collected already (or not ours)
            gone = True
        if gone:
            _unreaped.remove(child)


_unreaped: list[int] = []       # children reap() has not collected yet
