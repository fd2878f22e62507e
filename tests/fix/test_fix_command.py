"""`labwarden fix` end to end: the example lab, idempotence, the diff, --apply, --rule and
exit codes."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from fix_lab import audit_tree, snapshot, write

EXAMPLE = Path(__file__).parents[2] / "examples" / "homelab"

ROTATION = ['    logging:', '      driver: json-file', '      options:',
            '        max-size: "10m"', '        max-file: "3"']
NO_NEW_PRIVILEGES = "    security_opt: [no-new-privileges:true]"


def _key(f) -> tuple:
    """A finding without its line: fixes move lines, nothing else may change (CMP091 names
    the other service's line in its message)."""
    message = re.sub(r"(\.yaml):\d+", r"\1:N", f.message)
    return (f.rule.id, f.asset, f.resource, f.severity, message, f.evidence,
            f.location.path, f.suppression.kind if f.suppression else None)


def test_the_example_lab_loses_exactly_the_fixed_findings(tmp_path: Path, run_fix) -> None:
    lab = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, lab)
    before_files = snapshot(lab)
    before = audit_tree(lab)

    first = run_fix("homelab", "--apply", cwd=tmp_path)
    second = run_fix("homelab", "--apply", "--rule", "NET002", cwd=tmp_path)
    assert first.code == 0 and second.code == 0, first.err + second.err
    after = audit_tree(lab)

    # The fixed findings are gone: log rotation everywhere, the exposed database port.
    fixed = {"CMP073", "NET002"}
    assert [f for f in before.findings if f.rule.id in fixed]
    assert not [f for f in after.findings if f.rule.id in fixed]
    # CMP012 stays (cap_drop, read_only and user are for a person to test), but no longer
    # lists no-new-privileges for any service.
    had_nnp = {f.asset for f in before.findings
               if f.rule.id == "CMP012" and "no-new-privileges" in f.evidence}
    assert had_nnp == {"compose:netbox/netbox", "compose:netbox/netbox-postgres",
                       "compose:netbox/netbox-redis", "compose:paperless/db",
                       "compose:paperless/webserver"}
    assert not [f for f in after.findings if "no-new-privileges" in f.evidence]
    # Every other finding is exactly as it was, suppressions and waivers included.
    untouched = lambda result: sorted(_key(f) for f in result.findings
                                      if f.rule.id not in fixed | {"CMP012"})
    assert untouched(after) == untouched(before)
    assert {f.asset for f in after.findings if f.rule.id == "CMP012"} == \
        {f.asset for f in before.findings if f.rule.id == "CMP012"}
    assert any(f.rule.id == "CMP015" and f.waived for f in after.findings)  # still suppressed

    # Nothing else changed: only the intended lines were added, one line replaced.
    after_files = snapshot(lab)
    assert set(after_files) == set(before_files)
    changed = {name for name in before_files if before_files[name] != after_files[name]}
    assert changed == {"homeassistant/compose.yaml", "netbox/compose.yaml",
                       "paperless/compose.yaml", "portainer/compose.yaml"}
    removed, added = [], []
    for name in changed:
        for line in difflib.ndiff(before_files[name].splitlines(),
                                  after_files[name].splitlines()):
            if line.startswith("- "):
                removed.append((name, line[2:]))
            elif line.startswith("+ "):
                added.append(line[2:])
    assert removed == [("paperless/compose.yaml", ('      - "5432:5432"                         '
                                                   "# planted (CRITICAL): database on every "
                                                   "interface"))]
    rotation_count = sum(1 for f in before.findings if f.rule.id == "CMP073")
    bound = ('      - "127.0.0.1:5432:5432"               '
             "# planted (CRITICAL): database on every interface")
    assert sorted(added) == sorted(ROTATION * rotation_count + [NO_NEW_PRIVILEGES] * 5 + [bound])

    # Idempotent: a second run finds nothing to change.
    again = run_fix("homelab", "--apply", cwd=tmp_path)
    again_net = run_fix("homelab", "--rule", "NET002", cwd=tmp_path)
    assert again.out == "" and again.code == 0 and again_net.out == ""
    assert snapshot(lab) == after_files


def test_the_suppression_above_a_key_stays_above_it(tmp_path: Path, run_fix) -> None:
    lab = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, lab)
    run_fix("homelab", "--apply", cwd=tmp_path)
    lines = (lab / "homeassistant" / "compose.yaml").read_text().splitlines()
    at = lines.index("    network_mode: host")
    assert lines[at - 1].startswith("    # labwarden: ignore[CMP015]")
    assert lines[at - 6:at - 1] == ROTATION


def test_a_dry_run_prints_a_patch_and_changes_nothing(tmp_path: Path, run_fix) -> None:
    lab = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, lab)
    before = snapshot(lab)
    result = run_fix("homelab", cwd=tmp_path)
    assert result.code == 1                       # changes to make, not made
    assert snapshot(lab) == before
    assert result.out.startswith("--- a/homelab/homeassistant/compose.yaml\n"
                                 "+++ b/homelab/homeassistant/compose.yaml\n@@ ")
    assert "run with --apply to write them" in result.err
    assert "behaviour-changing fixes not selected: CMP001 (1), CMP090 (2), NET001 (1), " \
           "NET002 (1), NET003 (3)" in result.err
    # The patch is exactly what --apply writes: `git apply` gives the same files.
    patch = tmp_path / "fixes.patch"
    patch.write_text(result.out)
    subprocess.run(["git", "apply", "fixes.patch"], cwd=tmp_path, check=True)
    patched = snapshot(lab)
    shutil.rmtree(lab)
    shutil.copytree(EXAMPLE, lab)
    run_fix("homelab", "--apply", cwd=tmp_path)
    assert snapshot(lab) == patched


def test_apply_keeps_the_mode_and_leaves_no_temporary_file(tmp_path: Path, run_fix) -> None:
    write(tmp_path, {"app/compose.yaml": """
    services:
      web:
        image: nginx:1.27.3
        logging: {driver: local}
    """})
    path = tmp_path / "app" / "compose.yaml"
    os.chmod(path, 0o640)
    result = run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP071")
    assert result.code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "restart: unless-stopped" in path.read_text()
    assert sorted(p.name for p in path.parent.iterdir()) == ["compose.yaml"]


def test_a_symlinked_compose_file_is_written_through_the_link(tmp_path: Path, run_fix) -> None:
    real = tmp_path / "store" / "web.yaml"
    write(tmp_path, {"store/web.yaml": """
    services:
      web:
        image: nginx:1.27.3
        logging: {driver: local}
    """})
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "compose.yaml").symlink_to(real)
    # Named alone, app/ does not hold the link's target: nothing outside it is written.
    result = run_fix(str(tmp_path / "app"), "--no-config", "--apply", "--rule", "CMP071")
    assert "restart" not in real.read_text() and "(a symlink to " in result.err
    # The tree that holds both is written through the link, which stays a link.
    run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP071")
    assert (tmp_path / "app" / "compose.yaml").is_symlink()
    assert "restart: unless-stopped" in real.read_text()


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path, run_fix,
                                                             monkeypatch) -> None:
    from labwarden.fix import runner

    write(tmp_path, {"app/compose.yaml": """
    services:
      web:
        image: nginx:1.27.3
        logging: {driver: local}
    """})
    path = tmp_path / "app" / "compose.yaml"
    original_write = runner.write

    def edit_then_write(change):
        path.write_text(path.read_text() + "# edited meanwhile\n")
        return original_write(change)

    monkeypatch.setattr(runner, "write", edit_then_write)
    result = run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP071")
    assert result.code == 2
    assert "changed since it was read; not written" in result.err
    assert "0 fixed, 1 skipped, in 0 files" in result.err
    assert "restart" not in path.read_text()


@pytest.mark.parametrize("rule, message", [
    ("CMP999", "no rule 'CMP999'"),
    ("CMP010", "CMP010 has no automatic fix"),
])
def test_rules_that_cannot_be_fixed_are_a_usage_error(tmp_path: Path, run_fix, rule, message):
    result = run_fix(str(tmp_path), "--no-config", "--rule", rule)
    assert result.code == 2 and message in result.err


def test_rules_are_selected_by_id_or_name_and_only_those_run(tmp_path: Path, run_fix) -> None:
    write(tmp_path, {"app/compose.yaml": """
    services:
      web:
        image: nginx:1.27.3
        ports: ["8080:80"]
    """})
    result = run_fix(str(tmp_path), "--no-config", "--rule", "restart-policy-missing")
    assert "+    restart: unless-stopped" in result.out
    assert "logging" not in result.out and "127.0.0.1" not in result.out
    both = run_fix(str(tmp_path), "--no-config", "--rule", "CMP071", "--rule", "NET001")
    assert "+    restart: unless-stopped" in both.out and "127.0.0.1:8080:80" in both.out


def test_a_bad_digest_file_is_a_usage_error(tmp_path: Path, run_fix) -> None:
    write(tmp_path, {"app/compose.yaml": "services:\n  db:\n    image: postgres:16.4\n",
                     "bad.lock": "images:\n  postgres:16.4: not-a-digest\n"})
    result = run_fix(str(tmp_path), "--no-config", "--digests", str(tmp_path / "bad.lock"))
    assert result.code == 2 and "is not a sha256 digest" in result.err


def test_suppressed_findings_are_not_fixed(tmp_path: Path, run_fix) -> None:
    path = tmp_path / "app" / "compose.yaml"
    path.parent.mkdir()
    path.write_text("services:\n  # labwarden: ignore[CMP071] restarted by systemd\n"
                    "  web:\n    image: nginx:1.27.3\n    logging: {driver: local}\n")
    result = run_fix(str(tmp_path), "--no-config", "--rule", "CMP071")
    assert result.out == ""
    assert "suppressed inline (restarted by systemd)" in result.line("CMP071", "skipped")


def test_the_diff_never_shows_a_secret_value(tmp_path: Path, run_fix) -> None:
    write(tmp_path, {"app/compose.yaml": """
    services:
      db:
        image: postgres:16.4
        environment:
          POSTGRES_PASSWORD: hunter2hunter2
          POSTGRES_USER: app
        ports: ["5432:5432"]
    """})
    result = run_fix(str(tmp_path), "--no-config", "--rule", "CMP071,NET002", cwd=tmp_path)
    assert "hunter2hunter2" not in result.out + result.err
    assert "       POSTGRES_PASSWORD: hu…(14 chars)\n" in result.out
    assert "secret values in the diff are redacted" in result.err
    run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP071,NET002", cwd=tmp_path)
    assert "POSTGRES_PASSWORD: hunter2hunter2\n" in (tmp_path / "app/compose.yaml").read_text()


def test_register_adds_the_subcommand_the_way_cli_does() -> None:
    import argparse

    from labwarden.commands import fix as fix_command

    parser = argparse.ArgumentParser(prog="labwarden")
    fix_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fix", "lab", "--apply", "--rule", "NET002"])
    assert args.handler is fix_command.run
    assert (args.paths, args.apply, args.rules) == (["lab"], True, ["NET002"])


def test_the_command_and_the_fixer_table_import_no_yaml_library() -> None:
    import subprocess
    import sys

    code = ("import sys, labwarden.commands.fix, labwarden.fix; "
            "print(sorted(m for m in sys.modules if m.startswith(('ruamel', 'yaml'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
