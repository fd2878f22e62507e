#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
# Used by the README's test command and by .ci/run (CI=true, as root, clean checkout).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: git (env files tracked by git).
need=()
for tool in git; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} (install them with apt-get)" >&2
    exit 1
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

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
