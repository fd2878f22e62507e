"""The one redactor every finding passes through, and the four leaks it closed (issue 9):
an included non-Compose file quoted line by line, Traefik's provider options, `curl | sh`
lines with their credentials, and the `fix` diff's context lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from labwarden.audit.compose import AuditOptions, audit
from labwarden.fix.runner import FileChange, unified_diff
from labwarden.model import Hit, Location
from labwarden.redact import redactor, scrub, secret_values
from labwarden.audit.scripts import ScriptAuditOptions, audit_scripts

SECRET = "Zq8vN3kLm2Xw"      # a generated password: mixed case and digits


# --- scrub: credentials by shape and by name --------------------------------------------------

@pytest.mark.parametrize("text", [
    f"tcp://admin:{SECRET}@10.0.0.5:2375",
    f"--providers.redis.password={SECRET}",
    f"TRAEFIK_PROVIDERS_REDIS_PASSWORD={SECRET}",
    f"curl -H 'Authorization: Bearer {SECRET}' https://x.example",
    f'curl -H "Authorization: Basic {SECRET}" https://x.example',
    f'curl -H "X-Api-Key: {SECRET}" https://x.example',
    f"curl -H 'PRIVATE-TOKEN: {SECRET}' https://gitlab.example",
    f"curl -u deploy:{SECRET} https://x.example",
    f"curl --user=deploy:{SECRET} https://x.example",
    f"psql -c \"ALTER USER app WITH PASSWORD '{SECRET}'\"",
    f"mysql -e \"CREATE USER app IDENTIFIED BY '{SECRET}'\"",
    f"redis-server --requirepass {SECRET}",
    f'["app", "--requirepass", "{SECRET}"]',
    f"restic --password '{SECRET}' snapshots",
    f"MYSQL_ROOT_PASSWORD: '{SECRET}'",
    f'{{"api_key": "{SECRET}"}}',
    f"https://example.org/install.sh?token={SECRET}&x=1",
    f"root:$6$saltsalt${SECRET}abcdefghij:19000:0:99999:7:::",
    f"admin:$2y$05${SECRET}abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM",
    f"$argon2id$v=19$m=65536,t=3,p=4${SECRET}$abcdefghijklmnop",
    f"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3Blbn{SECRET}\\n-----END OPENSSH PRIVATE KEY-----",
    f"token ghp_{SECRET}abcdefghijklmnopqrstuvwx",
    f"GITHUB_TOKEN is github_pat_{SECRET}0123456789",
    f"glpat-{SECRET}abcdefghij",
    f"grafana glsa_{SECRET}0123456789",
    f"xoxb-{SECRET}-abcdef",
    f"AKIA{SECRET.upper()}ABCD",
    f"aws ASIA{SECRET.upper()}WXYZ",
    f"OPENAI_KEY sk-{SECRET}0123456789",
    f"registry npm_{SECRET}01234567890123456789",
    f"model hf_{SECRET}01234567890123456789",
    f"eyJhbGciOiJIUzI1NiJ9.eyJ{SECRET}In0.{SECRET}abc",
])
def test_scrub_redacts_every_kind_of_credential(text: str) -> None:
    shown = scrub(text)
    assert SECRET not in shown and SECRET.upper() not in shown, shown
    assert "…(" in shown


@pytest.mark.parametrize("text", [
    "POSTGRES_PASSWORD_FILE=/run/secrets/db_password",
    "password: ${DB_PASSWORD}",
    'REDIS_PASSWORD: "$$(cat /run/secrets/redis)"',
    "postgresql://user:${DATABASE_URL_PASSWORD}@host/app",
    "POSTGRES_PASSWORD=pa…(12 chars)",
    "docker run -u 1000:1000 app",
    "/etc/passwd:/etc/passwd:ro",
    "keep `DB_PASSWORD` out of the environment: mount it with `secrets:` and",
    "add `--providers.docker.exposedbydefault=false` and the label `traefik.enable=true`",
    "docker login --password-stdin registry.example",
    "lacks cap_drop: [ALL], no-new-privileges, read_only: true, a non-root user",
])
def test_scrub_leaves_references_paths_and_prose_alone(text: str) -> None:
    assert scrub(text) == text


def test_known_values_are_redacted_wherever_a_rule_quotes_them() -> None:
    redact = redactor([SECRET, "postgres", "abc"])
    assert redact(f"container name `app-{SECRET}` does not follow") == \
        f"container name `app-{SECRET[:2]}…({len(SECRET)} chars)` does not follow"
    # Words and defaults are guessed first and are every report's image and user names.
    assert redact("image postgres:16, user abc") == "image postgres:16, user abc"
    assert redactor([]) is scrub and redactor(["postgres", "paperless", "12345"]) is scrub


def test_known_values_longest_first_whatever_their_characters() -> None:
    # Values are looked for by their rarest character first; which one is replaced, and
    # that the longest wins where two overlap, must not depend on it.
    values = ["Zq9!xw-long-VALUE", "xw-long", "deport-silver-showcase", "hex0a1b2c3d",
              "MIXEDcase42", "ümlaut-Wert"]
    redact = redactor(values)
    assert redact("a Zq9!xw-long-VALUE b") == "a Zq…(17 chars) b"
    assert redact("just xw-long here") == "just …(7 chars) here"
    assert redact("pw deport-silver-showcase and hex0a1b2c3d") == \
        "pw de…(22 chars) and he…(11 chars)"
    assert redact("MIXEDcase42 / ümlaut-Wert") == "MI…(11 chars) / üm…(11 chars)"
    assert redact("nothing quoted here: MIXEDcase4 xw-lon") == \
        "nothing quoted here: MIXEDcase4 xw-lon"


def test_secret_values_are_read_from_assignments_flags_urls_and_sql() -> None:
    text = textwrap.dedent(f"""\
        environment:
          REDIS_PASSWORD: {SECRET}1
          DB_PASSWORD: ${{DB_PASSWORD}}
          DATABASE_URL: postgres://app:{SECRET}2@db/app
        command: ["redis-server", "--requirepass", "{SECRET}3"]
        healthcheck: psql -c "ALTER USER x PASSWORD '{SECRET}4'"
        """)
    assert sorted(secret_values(text)) == [f"{SECRET}{n}" for n in range(1, 5)]


# --- the engine redacts every finding, whatever the rule wrote ------------------------------

def _project(tmp_path: Path, compose: str, dotenv: str = "") -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "compose.yaml").write_text(textwrap.dedent(compose))
    if dotenv:
        (root / ".env").write_text(dotenv)
    return root


def _texts(result) -> str:
    return "\n".join(t for f in result.findings
                     for t in (f.message, f.evidence, f.fix, f.resource)) + \
        "\n".join(d.message for d in result.diagnostics)


def test_a_rule_that_quotes_a_secret_value_is_redacted_by_the_engine(tmp_path: Path) -> None:
    # CMP090 quotes the container name; the name is built from a secret variable.
    root = _project(tmp_path, """\
        services:
          app:
            image: nginx:1.27
            container_name: app${APP_TOKEN}
        """, dotenv=f"APP_TOKEN={SECRET}\n")
    result = audit([str(root)], AuditOptions(jobs=1))
    assert any(f.rule.id == "CMP090" for f in result.findings)
    assert SECRET not in _texts(result)


def test_every_finding_point_redacts_a_hit() -> None:
    from labwarden.config import Config
    from labwarden.audit.runner import RuleRunner as _RuleRunner
    from labwarden.rules import registry

    rule = registry.get("CMP001")
    runner = _RuleRunner(Config())
    hit = Hit(f"uses tcp://u:{SECRET}@h", Location("x", 1), resource=f"token={SECRET}",
              evidence=f"--password={SECRET}", fix=f"Authorization: Bearer {SECRET}")
    finding = runner.finding(rule, hit, "asset")
    assert SECRET not in "".join((finding.message, finding.resource, finding.evidence,
                                  finding.fix))
    runner.use_secrets([SECRET])
    finding = runner.finding(rule, Hit(f"named {SECRET}", Location("x", 1)), "asset")
    assert SECRET not in finding.message


def test_a_text_shown_before_is_redacted_again_for_a_project_with_secrets() -> None:
    """The runner remembers how it showed each text: a text shown for a project with no
    secret values is shown again for one that has them, with them hidden, and not for the
    next project without them (its values are not that project's)."""
    from labwarden.audit.runner import RuleRunner as _RuleRunner
    from labwarden.config import Config
    from labwarden.rules import registry

    rule = registry.get("CMP001")
    runner = _RuleRunner(Config())
    hit = Hit(f"container named {SECRET}", Location("x", 1), evidence=f"name: {SECRET}",
              fix=f"rename {SECRET}")
    plain = runner.finding(rule, hit, "compose:a/web")
    assert SECRET in plain.message                   # no project said it is a secret
    runner.use_secrets([SECRET])
    hidden = runner.finding(rule, hit, "compose:b/web")
    assert SECRET not in "".join((hidden.message, hidden.evidence, hidden.fix))
    runner.use_secrets([])
    assert runner.finding(rule, hit, "compose:c/web").message == plain.message


def test_conclude_redacts_every_diagnostic_but_those_redacted_already() -> None:
    """An audit that waits for a stage scrubs the diagnostics it has meanwhile, and tells
    conclude() which (by identity): those stay as they are, every other one is redacted,
    the ones added later and an equal copy of a redacted one alike."""
    from labwarden.audit.runner import conclude, redact_diagnostics
    from labwarden.config import Config
    from labwarden.model import Diagnostic

    leak = f"tcp://admin:{SECRET}@10.0.0.5:2375"
    early = Diagnostic("error", "bad-value", f"cannot read {leak}", Location("a.yaml", 3))
    scrubbed = redact_diagnostics([early], scrub)
    assert SECRET not in scrubbed[0].message
    later = Diagnostic("error", "bad-value", f"and {leak}", Location("b.yaml", 1))
    copy = Diagnostic(early.level, early.code, early.message, early.location)
    diagnostics = scrubbed + [later, copy]
    asked: list[str] = []

    def redact(text: str) -> str:
        asked.append(text)
        return scrub(text)
    conclude([], diagnostics, Config(), None, redact, redacted={id(scrubbed[0])})
    assert asked == [later.message, copy.message]
    assert diagnostics[0] is scrubbed[0]
    assert [SECRET in d.message for d in diagnostics] == [False, False, False]


# --- (a) an included file that is not Compose ------------------------------------------------

def test_an_included_non_compose_file_is_one_diagnostic_not_its_lines(tmp_path: Path) -> None:
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "shadow").write_text(f"root:{SECRET}:19000:0:99999:7:::\n"
                                    "daemon:*:19000:0:99999:7:::\n")
    root = _project(tmp_path, """\
        include:
          - ../etc/shadow
        services:
          web:
            image: nginx:1.27
        """)
    result = audit([str(root)], AuditOptions(jobs=1))
    assert not [f for f in result.findings if f.rule.id == "CMP001"]
    codes = [d.code for d in result.diagnostics]
    assert codes.count("not-compose") == 1
    assert "root:" not in _texts(result) and SECRET not in _texts(result)
    assert result.services == 1            # the rest of the project is still audited


def test_a_password_hash_as_a_compose_key_is_quoted_redacted(tmp_path: Path) -> None:
    # A file that is partly Compose is audited, its odd keys quoted (escaped by each
    # report): a hash among them is still never shown.
    root = _project(tmp_path, f"""\
        services:
          web:
            image: nginx:1.27
            read-only: true
        "bob:$6$saltsalt${SECRET}abcdef:19000:0:99999:7::": x
        """)
    result = audit([str(root)], AuditOptions(jobs=1))
    unknown = [f for f in result.findings if f.rule.id == "CMP001"]
    assert len(unknown) == 2
    assert any("`read-only`" in f.message and "read_only" in f.fix for f in unknown)
    assert any("bob:$6$…(" in f.message for f in unknown)
    assert SECRET not in _texts(result)


# --- (b) Traefik's provider options ----------------------------------------------------------

def test_traefik_rules_show_provider_options_redacted(tmp_path: Path) -> None:
    root = _project(tmp_path, f"""\
        services:
          traefik:
            image: traefik:v3.3
            command:
              - --providers.docker.endpoint=tcp://admin:{SECRET}1@10.0.0.5:2375
              - --providers.docker=true
              - --providers.redis.password={SECRET}2
              - --api.insecure=true
          edge:
            image: traefik:v3.3
            environment:
              TRAEFIK_PROVIDERS_DOCKER_ENDPOINT: tcp://admin:{SECRET}3@10.0.0.5:2375
              TRAEFIK_PROVIDERS_REDIS_PASSWORD: {SECRET}4
              TRAEFIK_API_INSECURE: "true"
        """)
    from labwarden.rules.exposure import _traefik_options
    from labwarden.sources.compose.discover import discover
    from labwarden.sources.compose.loader import load_project

    result = audit([str(root)], AuditOptions(jobs=1))
    assert {"NET005", "NET006"} <= {f.rule.id for f in result.findings}
    net005 = next(f for f in result.findings if f.rule.id == "NET005")
    assert net005.evidence == "--providers.docker=true"   # the option that enables it
    assert SECRET not in _texts(result)
    # The rule's own view of the options, before the engine's redaction, holds none either.
    (spec,) = discover([str(root)], [])
    for service in load_project(spec, []).services.values():
        for _, _, _, shown in _traefik_options(service) or ():
            assert SECRET not in shown, shown


# --- (c) `curl | sh` with credentials --------------------------------------------------------

def test_pipe_to_shell_evidence_never_shows_headers_or_user_passwords(tmp_path: Path) -> None:
    script = tmp_path / "install.sh"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/bash
        set -euo pipefail
        curl -fsSL -H 'Authorization: Bearer {SECRET}1' https://get.example.org/i.sh | sh
        curl -fsSL -u deploy:{SECRET}2 https://get.example.org/x.sh | bash
        curl -fsSL -H "X-Api-Key: {SECRET}3" https://get.example.org/y.sh | sudo bash
        """))
    result = audit_scripts([str(script)], ScriptAuditOptions(use_shellcheck=False,
                                                            compose_roots=[]))
    assert len([f for f in result.findings if f.rule.id == "SCR005"]) == 3
    assert SECRET not in _texts(result)


# --- (d) the fix diff ------------------------------------------------------------------------

def test_fix_diff_redacts_context_lines_with_the_files_own_secrets() -> None:
    before = textwrap.dedent(f"""\
        services:
          cache:
            image: redis:7.2
            command: ["redis-server", "--requirepass", "{SECRET}"]
            healthcheck:
              test: ["CMD", "redis-cli", "-a", "{SECRET}", "ping"]
            environment:
              REDIS_URL: redis://:{SECRET}x@cache:6379
        """)
    after = before.replace("    image: redis:7.2\n",
                           "    image: redis:7.2\n    restart: unless-stopped\n")
    text, redacted = unified_diff(FileChange("compose.yaml", before, after))
    assert redacted and "+    restart: unless-stopped" in text
    assert SECRET not in text
    assert "command:" in text and "healthcheck:" in text   # the lines are shown, redacted
