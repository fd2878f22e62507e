#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
# Used by the README's test command and by .ci/run (CI=true, as root, clean checkout).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use. The live checks are tested against real servers that the
# tests start on loopback: nginx and gnutls-serv (weak and strong TLS), openssh-server (weak
# and hardened sshd), dropbear-bin (the SSH server of OpenWrt routers and small NAS),
# postgresql (a default password; real pg_dump output for restore tests); caddy (`caddy
# adapt` reads Caddyfiles, and a real Caddy answers its admin API);
# chromium renders the HTML report; iproute2/iptables/nftables build a firewall in a
# network namespace; git tells tracked env files; docker.io is the Docker Engine the Docker
# source is tested against (its own dockerd on a private socket), with busybox-static the
# root of the one image it runs (no registry is reached); prometheus and
# prometheus-alertmanager are the monitoring stack whose APIs the monitoring source reads
# (and Prometheus scrapes `labwarden metrics`; promtool checks examples/monitoring);
# restic and borgbackup make real backup repositories on local paths; ansible-core runs the
# fleet playbook (contrib/ansible) and reads the Ansible inventories labwarden must agree with.
packages=(git nginx gnutls-bin openssh-server dropbear-bin postgresql chromium iproute2
          iptables nftables openssl docker.io busybox-static prometheus prometheus-alertmanager
          restic borgbackup caddy ansible-core)
need=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || need+=("$package")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian packages: ${need[*]}"
    apt-get update -qq
    # Packaged services must not grab their default ports or keep running: the tests start
    # their own instances on loopback high ports.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${need[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
  else
    echo "missing Debian packages: ${need[*]} (install them with apt-get, or run as root)" >&2
    exit 1
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

# Static checks first, each failing the run: ruff with the rule set in pyproject.toml on src/
# (the tests hold data lines), then mypy on src/, the core at zero errors and the rest held
# to mypy-baseline.json (scripts/mypy_baseline.py; its cache is .mypy_cache/).
.venv/bin/ruff check src
.venv/bin/python scripts/mypy_baseline.py

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  # pytest's "no tests collected": say so plainly rather than fail on an empty selection.
  echo "pytest collected no tests for: ${*:-the whole suite}"
  exit 0
fi
exit "$status"
