"""Reading a cluster through the Proxmox VE API (`pve://node[:8006]`), read-only.

Only GET requests, with an API token (`Authorization: PVEAPIToken=user@realm!id=secret`)
taken from `ProbeOptions.pve_token` or the environment variable LABWARDEN_PVE_TOKEN; a
token with the PVEAuditor role on `/` reads everything used here:

    /nodes, /cluster/status                       the nodes, the cluster's name
    /nodes/{node}/lxc, /nodes/{node}/qemu         their guests
    /nodes/{node}/{lxc|qemu}/{vmid}/config        a guest's configuration (pct.conf keys)
    /nodes/{node}/{lxc|qemu}/{vmid}/firewall/options
    /nodes/{node}/firewall/options                a node's host firewall
    /cluster/firewall/options                     the datacenter firewall
    /cluster/backup                               the backup jobs
    /storage                                      the storages
    /pools/{pool}                                 a pool's members (pools jobs select)
    /nodes/{node}/vzdump/defaults                 the node's /etc/vzdump.conf

The answers become the same parsed configuration as the files (`model.PveConfig`), so the
facts and rules are the same. A 403 on one path leaves what it holds unknown (reported);
a refused token, a TLS failure or a dead node is one error diagnostic.

Why httpx and not proxmoxer: httpx is already labwarden's HTTP client (the HTTP probe,
with the same `--ca-file` and timeouts), and twelve GET paths need no wrapper; proxmoxer
would add itself and `requests` to the dependencies for no part of the work done here.

The token is a secret: it is sent only in the header, never put in a message, and any
text that could quote it (an error from the HTTP stack) has it cut out.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl

from labwarden.model import Diagnostic, Location
from labwarden.sources.proxmox.backup import job_from_mapping, storage_from_mapping
from labwarden.sources.proxmox.conf import Entry, config_from_mapping
from labwarden.sources.proxmox.fw import options_from_mapping
from labwarden.sources.proxmox.model import build_facts
from labwarden.sources.proxmox.state import PVE, PveConfig, guest_path

TOKEN_ENV = "LABWARDEN_PVE_TOKEN"
# user@realm!tokenid=secret (the secret is a UUID; accept any non-space text)
_TOKEN = re.compile(r"^(?:PVEAPIToken=)?([^\s@!=]+@[^\s@!=]+![^\s@!=]+)=(\S+)$")
IN_FLIGHT = 8


class ApiError(Exception):
    """The API could not be read at all (refused token, TLS, network): one message."""


class _Client:
    def __init__(self, http, secret: str, where: str):
        self.http, self.secret, self.where = http, secret, where
        self.forbidden: list[str] = []
        self.gate = asyncio.Semaphore(IN_FLIGHT)

    async def get(self, path: str, optional: bool = False):
        """The `data` of a GET; None when the token may not read it (403) or, with
        `optional`, when it does not exist (404/500: a pool that is gone)."""
        import httpx

        async with self.gate:
            try:
                response = await self.http.get(f"/api2/json{path}")
            except httpx.HTTPError as exc:
                raise ApiError(self._clean(f"cannot read {path}: {_why(exc)}")) from None
        if response.status_code == 401:
            raise ApiError("the API refused the token (401): check its ID and secret, and "
                           "that it has not expired")
        if response.status_code == 403:
            self.forbidden.append(path)
            return None
        if optional and response.status_code in (404, 500):
            return None
        if response.status_code != 200:
            raise ApiError(f"{path}: HTTP {response.status_code}")
        try:
            return response.json().get("data")
        except (ValueError, AttributeError):
            raise ApiError(f"{path}: the answer is not the API's JSON") from None

    def _clean(self, text: str) -> str:
        return text.replace(self.secret, "…") if self.secret else text


def _why(exc: Exception) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY" in str(exc):
        return ("the node's certificate is not trusted (Proxmox signs it with its own CA: "
                "pass /etc/pve/pve-root-ca.pem with --ca-file)")
    return type(exc).__name__


def parse_token(text: str) -> tuple[str, str] | None:
    """(the header value, the secret) from `user@realm!id=secret` or the header itself."""
    match = _TOKEN.match(text.strip())
    if not match:
        return None
    return f"PVEAPIToken={match.group(1)}={match.group(2)}", match.group(2)


async def read_api(target, options) -> list:
    """The facts of the cluster `target` (a pve:// target) names. Never raises."""
    name = target.host
    config = PveConfig(target.raw, name)
    token_text = getattr(options, "pve_token", None) or os.environ.get(TOKEN_ENV) or ""
    token = parse_token(token_text) if token_text else None
    where = Location(target.raw)
    if token is None:
        why = (f"no API token: set {TOKEN_ENV}=user@realm!tokenid=secret (a token with the "
               "PVEAuditor role)") if not token_text else \
            f"the API token is not `user@realm!tokenid=secret` ({TOKEN_ENV})"
        return _failed(config, why, where)
    header, secret = token
    try:
        import httpx

        verify: ssl.SSLContext | bool = True
        ca_file = getattr(options, "ca_file", None)
        if ca_file:
            from labwarden.sources._read import read_ca_file

            verify = ssl.create_default_context(cadata=read_ca_file(ca_file))
        timeout = float(getattr(options, "timeout", 5.0))
        async with httpx.AsyncClient(base_url=f"https://{target.address}",
                                     headers={"Authorization": header}, verify=verify,
                                     timeout=timeout, follow_redirects=False,
                                     trust_env=False) as http:
            client = _Client(http, secret, target.raw)
            await _read(client, config)
    except ApiError as exc:
        return _failed(config, str(exc).replace(secret, "…"), where)
    except (OSError, ValueError, ssl.SSLError) as exc:
        return _failed(config, f"cannot read the API: {type(exc).__name__}", where)
    for path in client.forbidden:
        config.diagnostics.append(Diagnostic(
            "error", "not-read", f"{path}: the token may not read it (403; give it the "
            "PVEAuditor role on /)", where))
    return build_facts(config)


def _failed(config: PveConfig, message: str, where: Location) -> list:
    config.diagnostics.append(Diagnostic("error", "unreachable", message, where))
    facts = build_facts(config)
    facts[0].error = message            # the cluster fact: nothing of it is known
    facts[0].firewall_enabled = None
    return facts[:1]


async def _read(client: _Client, config: PveConfig) -> None:
    nodes = [str(n.get("node")) for n in await client.get("/nodes") or [] if n.get("node")]
    config.nodes = nodes
    status = await client.get("/cluster/status", optional=True) or []
    config.cluster_name = next((str(s["name"]) for s in status
                                if s.get("type") == "cluster" and s.get("name")), None)
    listings = await asyncio.gather(*(client.get(f"/nodes/{n}/{kind}")
                                      for n in nodes for kind in ("lxc", "qemu")))
    guests = []
    for (node, kind), listed in zip([(n, k) for n in nodes for k in ("lxc", "qemu")],
                                    listings):
        for item in listed or []:
            if str(item.get("vmid", "")).isdigit():
                guests.append((node, kind, int(item["vmid"])))
    configs = await asyncio.gather(*(client.get(f"/nodes/{n}/{k}/{v}/config")
                                     for n, k, v in guests))
    firewalls = await asyncio.gather(*(client.get(f"/nodes/{n}/{k}/{v}/firewall/options")
                                       for n, k, v in guests))
    for (node, kind, vmid), values, fw in zip(guests, configs, firewalls):
        path = guest_path(node, vmid, kind)
        if values is None:
            config.unread_guests.append((node, vmid, kind))
            continue
        config.guests.append(config_from_mapping(values, vmid=vmid, kind=kind, node=node,
                                                 path=path))
        if fw is None:
            config.unread_fw.add(vmid)
        else:
            config.guest_fw[vmid] = options_from_mapping(fw, f"{PVE}/firewall/{vmid}.fw")
    cluster_fw = await client.get("/cluster/firewall/options")
    if cluster_fw is None:
        config.cluster_fw_read = False
    else:
        config.cluster_fw = options_from_mapping(cluster_fw, f"{PVE}/firewall/cluster.fw")
    host_fws = await asyncio.gather(*(client.get(f"/nodes/{n}/firewall/options")
                                      for n in nodes))
    for node, fw in zip(nodes, host_fws):
        if fw is None:
            config.unread_host_fw.add(node)
        else:
            config.host_fw[node] = options_from_mapping(fw, f"{PVE}/nodes/{node}/host.fw")
    jobs = await client.get("/cluster/backup")
    if jobs is None:
        config.jobs_read = False
    else:
        config.jobs = [job_from_mapping(j, f"{PVE}/jobs.cfg") for j in jobs
                       if j.get("type", "vzdump") == "vzdump"]
    storages = await client.get("/storage")
    if storages is not None:
        config.storages = {s.id: s for s in (storage_from_mapping(v, f"{PVE}/storage.cfg")
                                             for v in storages)}
    wanted = sorted({j.pool for j in config.jobs if j.pool})
    pools = await asyncio.gather(*(client.get(f"/pools/{p}", optional=True) for p in wanted))
    config.pools = {}
    for pool, answer in zip(wanted, pools):
        if f"/pools/{pool}" in client.forbidden:
            config.pools = None             # a pool's members unknown: coverage unknown
            break
        members = answer.get("members", []) if isinstance(answer, dict) else []
        config.pools[pool] = {int(m["vmid"]) for m in members
                              if str(m.get("vmid", "")).isdigit()}
    # The node's /etc/vzdump.conf, as vzdump reads it (the last resort for retention)
    defaults = await client.get(f"/nodes/{nodes[0]}/vzdump/defaults", optional=True) \
        if nodes else {}
    config.defaults = None if defaults is None else {
        str(k): Entry(str(k), _text(v), 0) for k, v in defaults.items()
        if not isinstance(v, list)}


def _text(value) -> str:
    if isinstance(value, dict):           # prune-backups, decoded by the API
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)
