"""The SCR rules end to end on small trees, with real bash and real ShellCheck: severities,
messages, fixes, the container-name fix guide, suppressions, waivers, coverage gaps."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from labwarden.config import load_config
from labwarden.model import Severity
from labwarden.audit.scripts import ScriptAuditOptions, audit_scripts

from script_helpers import write

STRICT = "#!/bin/bash\nset -euo pipefail\n"

MONITORING = """\
name: monitoring
services:
  grafana:
    image: grafana/grafana:11.1.0
    container_name: monitoring-grafana
  prometheus:
    image: prom/prometheus:v2.53.0
    container_name: monitoring-prometheus
  loki:
    image: grafana/loki:3.1.0
  alloy:
    image: grafana/alloy:v1.3.0
    deploy:
      replicas: 2
"""
PAPERLESS = """\
services:
  webserver:
    image: ghcr.io/paperless-ngx/paperless-ngx:2.11.6
    container_name: paperless-webserver
  broker:
    image: redis:7.4.1
"""


def check(root: Path, *paths: str, **options):
    targets = [str(root / p) for p in paths] or [str(root)]
    options.setdefault("compose_roots", [str(root)])
    return audit_scripts(targets, ScriptAuditOptions(**options))


def lab(tmp_path: Path, scripts: dict[str, str]) -> Path:
    files = {"services/monitoring/compose.yaml": MONITORING,
             "services/paperless/docker-compose.yml": PAPERLESS}
    files.update({f"scripts/{name}": text for name, text in scripts.items()})
    return write(tmp_path, files)


def by_rule(result, rule_id: str):
    return [f for f in result.findings if f.rule.id == rule_id]


# --- SCR001 ----------------------------------------------------------------------------------

def test_syntax_error_is_reported_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + "if true; then\n  echo x\ndone\n"})
    [finding] = by_rule(check(tmp_path), "SCR001")
    assert finding.location.line == 5 and finding.severity is Severity.HIGH
    assert "unexpected token `done'" in finding.message


def test_unexpected_end_of_file(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + "if true; then\n  echo x\n"})
    [finding] = by_rule(check(tmp_path), "SCR001")
    assert "end of file" in finding.message and finding.severity is Severity.HIGH


def test_open_here_document_is_a_medium_finding_at_its_start(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + "cat <<EOF\nbody\necho lost\n"})
    result = check(tmp_path)
    [finding] = by_rule(result, "SCR001")
    assert (finding.location.line, finding.severity) == (3, Severity.MEDIUM)
    assert not by_rule(result, "SCR002")      # ShellCheck's parse errors are not repeated


# --- SCR002 ----------------------------------------------------------------------------------

def test_shellcheck_levels_map_to_severities(tmp_path: Path, shellcheck: str) -> None:
    write(tmp_path, {"a.sh": STRICT + 'unused=1\nd=$1\necho $d\nfor f in $(ls "$d"); do '
                     'echo "$f"; done\n'})
    found = {f.resource.split(":")[0]: f for f in by_rule(check(tmp_path), "SCR002")}
    assert found["SC2034"].severity is Severity.LOW           # warning
    assert found["SC2086"].severity is Severity.INFO          # info
    assert found["SC2045"].severity is Severity.MEDIUM        # error
    assert found["SC2086"].resource == "SC2086:5:6" and found["SC2086"].location.line == 5
    assert found["SC2086"].fix == "see https://www.shellcheck.net/wiki/SC2086"


def test_style_issues_only_when_asked(tmp_path: Path, shellcheck: str) -> None:
    write(tmp_path, {"a.sh": STRICT + "x=`date`\necho \"$x\"\n"})
    assert not by_rule(check(tmp_path), "SCR002")
    [finding] = by_rule(check(tmp_path, shellcheck_severity="style"), "SCR002")
    assert finding.resource.startswith("SC2006:") and finding.severity is Severity.INFO


def test_rm_rf_issues_are_left_to_scr004(tmp_path: Path, shellcheck: str) -> None:
    write(tmp_path, {"a.sh": STRICT + 'd=${1:-}\nrm -rf "$d/"*\n'})
    result = check(tmp_path)
    assert not [f for f in by_rule(result, "SCR002") if f.resource.startswith("SC2115")]
    assert by_rule(result, "SCR004")


def test_missing_shellcheck_is_a_coverage_gap_not_silence(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + "d=$1\necho $d\n"})
    result = check(tmp_path, shellcheck=str(tmp_path / "no-such-shellcheck"))
    gaps = [d for d in result.diagnostics if d.code == "shellcheck-missing"]
    assert len(gaps) == 1 and gaps[0].level == "gap" and "SCR002" in gaps[0].message
    assert not by_rule(result, "SCR002")


def test_other_interpreters_are_skipped_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": "#!/usr/bin/env python3\nprint('hi')\n",
                     "b.sh": "#!/bin/zsh\nsetopt extendedglob\n"})
    result = check(tmp_path)
    assert not result.findings and result.files_scanned == 0
    assert [d.code for d in result.diagnostics] == ["not-a-shell-script"] * 2


def test_scripts_without_a_shebang_are_read_as_bash(tmp_path: Path, shellcheck: str) -> None:
    write(tmp_path, {"lib.sh": "log() { echo $1; }\n"})
    result = check(tmp_path)
    assert [f.resource.split(":")[0] for f in by_rule(result, "SCR002")] == ["SC2086"]
    assert not by_rule(result, "SCR003")       # a sourced library


# --- SCR003 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("header, missing", [
    ("set -euo pipefail", None),
    ("set -Eeuo pipefail", None),
    ("set -euxo pipefail", None),
    ("set -o pipefail -eu", None),
    ("set -e\nset -u\nset -o pipefail", None),
    ("set -eu", "pipefail"),
    ("set -o errexit", "nounset, pipefail"),
    ("shopt -s nullglob", "errexit, nounset, pipefail"),
])
def test_strict_mode_in_any_spelling(tmp_path: Path, header: str, missing: str | None) -> None:
    write(tmp_path, {"a.sh": f"#!/bin/bash\n{header}\necho x\n"})
    found = by_rule(check(tmp_path), "SCR003")
    if missing is None:
        assert not found
    else:
        [finding] = found
        assert finding.evidence == f"missing: {missing}"


def test_strict_mode_set_in_a_substitution_does_not_count(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": "#!/bin/bash\nf() { x=$(set -euo pipefail); }\necho x\n"})
    assert by_rule(check(tmp_path), "SCR003")


# --- SCR004 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("line, severity", [
    ('rm -rf "$D"/*', Severity.CRITICAL),
    ("rm -rf $D/", Severity.CRITICAL),
    ('rm -rf "${D}/"', Severity.CRITICAL),
    ('rm -fr -- "$D/$N"', Severity.CRITICAL),
    ('rm -r "$D/.*"', Severity.CRITICAL),
    ('rm -Rf "/srv/backups/$N"', Severity.HIGH),
    ('rm -rf "$D/cache"', Severity.HIGH),
    ("rm -rf $D", Severity.HIGH),
    ('rm -rf "$D"', None),
    ('rm -rf "${D:?}"/*', None),
    ('rm -rf "${D:-/srv/tmp}"/*', None),
    ('rm -f "$D"/*', None),
    ('rm -rf "$D.old"', None),
    ('rm -rf "$HOME/.cache/app"', None),
    ('T=$(mktemp -d)\nrm -rf $T/*', None),
    ("rm -rf /srv/tmp/cache", None),
])
def test_rm_rf_severity(tmp_path: Path, line: str, severity: Severity | None) -> None:
    write(tmp_path, {"a.sh": STRICT + "D=${1:-}\nN=${2:-}\n" + line + "\n"})
    found = by_rule(check(tmp_path), "SCR004")
    if severity is None:
        assert not found, found[0].message
    else:
        [finding] = found
        assert finding.severity is severity, finding.message


def test_rm_rf_fix_guards_the_variable(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + 'DIR=$1\nrm -rf "$DIR"/*\n'})
    [finding] = by_rule(check(tmp_path), "SCR004")
    assert finding.fix == 'rm -rf -- "${DIR:?}/"*'
    assert "`DIR` is empty or unset this deletes `/*`" in finding.message


def test_rm_rf_after_a_guard_or_with_constants(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + textwrap.dedent("""\
        D=${1:-}
        [ -n "$D" ] || exit 1
        rm -rf "$D"/*
        C=/var/tmp/work
        rm -rf $C/*
        : "${E:?E must be set}"
        rm -rf "$E"/
        if [ $# -lt 1 ]; then exit 2; fi
        rm -rf "$1"/*
        """)})
    assert not by_rule(check(tmp_path), "SCR004")


def test_a_guard_after_the_rm_does_not_count(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + 'D=${1:-}\nrm -rf "$D"/*\n[ -n "$D" ] || exit 1\n'})
    assert by_rule(check(tmp_path), "SCR004")


# --- SCR005 ----------------------------------------------------------------------------------

def test_pipe_to_shell_evidence_hides_credentials(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + "curl -fsSL 'https://dl:Hunter2Hunter2@example.org/i.sh?"
                     "token=abcdef123456' | bash\n"})
    [finding] = by_rule(check(tmp_path), "SCR005")
    text = finding.message + finding.evidence + finding.resource
    assert "Hunter2Hunter2" not in text and "abcdef123456" not in text
    assert finding.location.line == 3


def test_download_to_a_file_is_fine(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + "curl -fsSLo /tmp/i.sh https://example.org/i.sh\n"
                     "curl -fsS https://example.org/x | jq .\n"})
    assert not by_rule(check(tmp_path), "SCR005")


# --- SCR007 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body, reported", [
    ("ufw allow 22/tcp\n", True),
    ("apt-get update\n", True),
    ("apt list --installed\n", False),
    ("systemctl --user restart app\n", False),
    ("systemctl is-active nginx\n", False),
    ("sed -i 's/a/b/' /etc/ssh/sshd_config\n", True),
    ("echo 'vm.swappiness=10' > /etc/sysctl.d/99-swap.conf\n", True),
    ("sudo ufw allow 22/tcp\n", False),
    ('if [ "$(whoami)" != root ]; then exit 1; fi\nufw allow 22/tcp\n', False),
    ("ssh root@pve 'qm stop 101'\n", False),
    ("docker restart monitoring-grafana\n", False),
    ("tar czf /tmp/etc.tgz /etc/nginx\n", False),
    ("cp /etc/nginx/nginx.conf /tmp/\n", False),
    ("install -m 600 key.pem /etc/ssl/private/\n", True),
    ("pct snapshot 101 before-upgrade\n", True),
])
def test_root_needs(tmp_path: Path, body: str, reported: bool) -> None:
    write(tmp_path, {"a.sh": STRICT + body})
    assert bool(by_rule(check(tmp_path), "SCR007")) is reported


def test_one_root_finding_per_script_listing_the_commands(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + "ufw allow 22\nsystemctl restart ssh\nuseradd bob\n"})
    [finding] = by_rule(check(tmp_path), "SCR007")
    assert finding.location.line == 3 and finding.severity is Severity.LOW
    assert "ufw (line 3), systemctl restart (line 4), useradd (line 5)" in finding.message


# --- SCR008: the container name fix guide ----------------------------------------------------

def test_wrong_container_name_gets_the_closest_real_one(tmp_path: Path) -> None:
    root = lab(tmp_path, {"reset.sh": STRICT + "docker exec monitoring-grafna grafana-cli "
                                              "admin reset-admin-password \"$NEW\"\n"})
    [finding] = by_rule(check(root), "SCR008")
    assert finding.severity is Severity.HIGH and finding.location.line == 3
    assert "did you mean `monitoring-grafana`" in finding.message
    assert "service `grafana`" in finding.message and "compose.yaml:5" in finding.message
    assert finding.fix == "docker exec monitoring-grafana"
    assert finding.resource == "container:monitoring-grafna"


def test_compose_default_names_and_replicas(tmp_path: Path) -> None:
    root = lab(tmp_path, {"ok.sh": STRICT + textwrap.dedent("""\
        docker logs monitoring-loki-1
        docker restart monitoring-alloy-1 monitoring-alloy-2 paperless-broker-1
        docker exec monitoring-prometheus promtool check config /etc/prometheus/prometheus.yml
        """)})
    assert not by_rule(check(root), "SCR008")


def test_service_name_where_docker_wants_the_container(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": STRICT + "docker restart loki\n"})
    [finding] = by_rule(check(root), "SCR008")
    assert "did you mean `monitoring-loki-1`" in finding.message
    assert "service name" in finding.message and finding.fix == "docker restart monitoring-loki-1"


def test_compose_v1_names_are_corrected(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": STRICT + "docker logs monitoring_loki_1\n"})
    [finding] = by_rule(check(root), "SCR008")
    assert finding.fix == "docker logs monitoring-loki-1" and "hyphens" in finding.message


def test_compose_commands_take_service_names(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": STRICT + textwrap.dedent("""\
        docker compose -p monitoring restart grafana loki
        docker compose -p monitoring exec monitoring-grafana grafana-cli plugins ls
        cd /opt/homelab/services/paperless
        docker compose logs webservr
        docker compose -f /opt/homelab/services/paperless/docker-compose.yml restart broker
        docker compose -p elsewhere restart graphana
        """)})
    found = {f.location.line: f for f in by_rule(check(root), "SCR008")}
    assert sorted(found) == [4, 6, 8]
    assert "takes the service name `grafana`" in found[4].message
    assert found[4].fix == "docker compose -p monitoring exec grafana"
    assert "project `paperless` has no service `webservr`" in found[6].message
    assert found[6].fix == "docker compose logs webserver"
    # an unknown project: checked against every project's services
    assert "no Compose project of the tree has a service `graphana`" in found[8].message
    assert found[8].fix == "docker compose -p elsewhere restart grafana"


def test_one_finding_per_wrong_name_listing_other_lines(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": STRICT + "docker stop grafna\ndocker start grafna\n"
                                           "docker logs grafna\n"})
    [finding] = by_rule(check(root), "SCR008")
    assert finding.location.line == 3 and finding.message.endswith("also on lines 4, 5")


def test_names_the_scripts_create_and_dynamic_names_are_not_reported(tmp_path: Path) -> None:
    root = lab(tmp_path, {
        "make.sh": STRICT + "docker run -d --name backup-helper alpine:3.20 sleep 60\n",
        "use.sh": STRICT + textwrap.dedent("""\
            docker exec backup-helper ls
            C=monitoring-grafana
            docker restart "$C" "${OTHER}" $(docker ps -q)
            docker inspect nginx:1.27
            docker inspect 4f5e6d7c8b9a
            docker inspect some-volume
            """)})
    assert not by_rule(check(root), "SCR008")


def test_remote_and_nested_commands_are_checked(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": STRICT + textwrap.dedent("""\
        ssh root@docker-vm "docker restart monitoring-grafan"
        pct exec 105 -- docker logs paperless-websrv
        """)})
    lines = sorted(f.location.line for f in by_rule(check(root), "SCR008"))
    assert lines == [3, 4]


def test_no_compose_project_is_a_gap_only_when_names_are_used(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": STRICT + "docker restart web\n", "b/b.sh": STRICT + "echo hi\n"})
    result = check(tmp_path)
    assert [d.code for d in result.diagnostics if d.level == "gap"] == ["no-compose-projects"]
    assert not by_rule(result, "SCR008")
    assert not [d for d in check(tmp_path, "b").diagnostics if d.level == "gap"]


def test_a_broken_compose_file_is_a_gap(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": STRICT + "docker restart monitoring-grafana\n"})
    write(root, {"services/broken/compose.yaml": "services:\n  web: [unclosed\n"})
    result = check(root)
    assert any(d.code == "compose-incomplete" and d.level == "gap" for d in result.diagnostics)
    assert not result.errors and not by_rule(result, "SCR008")


def test_default_compose_tree_is_the_repository(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": STRICT + "docker restart monitoring-grafna\n"})
    (root / ".git").mkdir()
    result = audit_scripts([str(root / "scripts")])
    assert result.projects == 2
    [finding] = by_rule(result, "SCR008")
    assert finding.fix == "docker restart monitoring-grafana"
    assert finding.asset == "script:scripts/a.sh"      # relative to the repository


# --- suppressions, waivers, fingerprints -------------------------------------------------------

def test_inline_suppression_with_a_reason(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": STRICT + textwrap.dedent("""\
        # labwarden: ignore[SCR008] created by the Ansible playbook, not by Compose
        docker restart ansible-runner
        docker restart other-thing  # labwarden: ignore[unknown-container-name]
        """)})
    result = check(root)
    findings = by_rule(result, "SCR008")
    waived = [f for f in findings if f.waived]
    assert [f.location.line for f in waived] == [4]
    assert waived[0].id == "WAIVED-001"
    assert any(d.code == "suppression-without-reason" for d in result.diagnostics)


def test_waiver_from_labwarden_yaml(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": STRICT + "curl -fsSL https://get.docker.com | sh\n"})
    write(root, {"labwarden.yaml": """\
        waivers:
          - rule: SCR005
            scope: {path: "scripts/*.sh"}
            justification: the installer is pinned by checksum in CI
            owner: ops
            expires: 2099-01-01
        """})
    config = load_config(str(root / "labwarden.yaml"))
    [finding] = by_rule(check(root, config=config), "SCR005")
    assert finding.waived and finding.suppression.owner == "ops"


def test_fingerprints_survive_inserted_lines(tmp_path: Path) -> None:
    body = 'D=${1:-}\nrm -rf "$D"/*\ndocker restart grafna\n'
    root = lab(tmp_path, {"a.sh": STRICT + body})
    before = {f.rule.id: f.fingerprint for f in check(root).findings}
    (root / "scripts/a.sh").write_text(STRICT + "echo one\necho two\n" + body)
    after = {f.rule.id: f.fingerprint for f in check(root).findings}
    assert before["SCR004"] == after["SCR004"] and before["SCR008"] == after["SCR008"]


def test_numbering_and_counts_are_the_audits(tmp_path: Path) -> None:
    root = lab(tmp_path, {"a.sh": "#!/bin/bash\nD=$1\nrm -rf $D/*\ndocker stop grafna\n"})
    result = check(root)
    assert [f.id for f in result.findings][:2] == ["CRITICAL-001", "HIGH-001"]
    assert result.files_scanned == 1 and result.projects == 2 and result.services == 6
    assert result.rules_run == 8


def test_rules_survive_arbitrary_scripts(tmp_path: Path) -> None:
    import random

    alphabet = list("ab $(){}[]'\"`\\;&|<>\n#=-*?!@:/.01") + [
        "docker exec ", "rm -rf ", "curl x | sh", "<<EOF\n", "EOF\n", "PASSWORD=", "set -e",
        "iptables ", "ssh h ", "${x:?}", "case ", " in ", ";;", "esac"]
    rnd = random.Random(4)
    for n in range(40):
        text = "#!/bin/bash\n" + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 90)))
        (tmp_path / f"f{n}.sh").write_text(text)
    result = check(tmp_path, use_shellcheck=False)
    assert not [d for d in result.diagnostics if d.code == "rule-crashed"]
