"""Proxmox VE: guests, their firewall and their backup jobs.

Read from a node's cluster file system (`/etc/pve`) through the host transport (`ssh://`,
`local://`, `snapshot:DIR`) or from the Proxmox API (`pve://node[:8006]`, read-only API
token). Collecting and judging are separate, sslyze-style:

  conf.py     guest configurations (`pct.conf`, `qm.conf`): pure functions over text
  fw.py       firewall files (`cluster.fw`, `<vmid>.fw`, `host.fw`): pure functions
  backup.py   backup jobs (`jobs.cfg`, `vzdump.cron`), storages (`storage.cfg`), pools
              (`user.cfg`), node defaults (`/etc/vzdump.conf`), retention: pure functions
  state.py    what was read from one node, parsed (`PveConfig`), before any fact
  model.py    the facts the rules judge, built from that state, and their fixture reader
              `facts_from_yaml`
  files.py    reading the files through a host transport
  api.py      reading the same through the Proxmox API (httpx)
  fixtures.py fixture files read by `files.py` through an in-memory transport

The probe itself is `labwarden.sources.live.proxmox` (probes live under `sources.live`).
"""
