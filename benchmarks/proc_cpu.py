"""CPU seconds of long-running server processes the benchmarks start (sshd listeners): their
own and that of every child they reaped, read from /proc (Linux)."""

from __future__ import annotations

import os


def reaped_cpu(processes) -> float:
    """utime + stime + cutime + cstime of each `subprocess.Popen`, in seconds: a listener's
    connection processes are its reaped children, so this counts the whole server."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for process in processes:
        try:
            with open(f"/proc/{process.pid}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue                      # exited: nothing more to count
        total += sum(int(v) for v in fields[11:15])     # utime stime cutime cstime
    return total / ticks
