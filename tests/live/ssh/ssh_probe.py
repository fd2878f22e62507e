"""What the SSH tests call besides fixtures: the probe run to completion, sshd itself. (A
module of its own, not conftest: `from conftest import` finds whichever conftest was
imported first.)"""

from __future__ import annotations

import asyncio
import subprocess

import sshd_servers

from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.ssh_wire import probe
from labwarden.sources.live.targets import parse_target


def probe_sync(target: str, every_key: bool = False, **options):
    return asyncio.run(probe(parse_target(target), ProbeOptions(**options),
                             every_key=every_key))


def sshd_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sshd_servers.sshd_binary(), *args], capture_output=True, text=True,
                          check=False)
