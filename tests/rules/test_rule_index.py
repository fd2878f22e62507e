"""`rules._index` (every rule's ID and name) is what labwarden.yaml's rule references are
checked against, so that loading a configuration imports no rule module: it must be the
registry's table exactly, and `rule_id` must answer as `get` does."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from labwarden.rules import registry
from labwarden.rules._index import RULES


def test_the_index_is_the_registry():
    actual = {r.id: r.name for r in registry.all_rules()}
    missing = sorted(set(actual.items()) - set(RULES.items()))
    assert not missing, "add to src/labwarden/rules/_index.py:\n" + "\n".join(
        f'    "{id_}": "{name}",' for id_, name in missing)
    assert RULES == actual
    assert list(RULES) == sorted(RULES)


def test_rule_id_answers_as_get():
    refs = [ref for r in registry.all_rules()
            for ref in (r.id, r.id.lower(), r.name, r.name.upper(), r.name.title())]
    refs += ["CMP999", "no-such-rule", "", "*", "cmp", "CMP01", "docker socket mounted"]
    for ref in refs:
        found = registry.get(ref)
        assert registry.rule_id(ref) == (None if found is None else found.id), ref


def test_a_configuration_that_names_rules_loads_no_rule_module(tmp_path):
    config = tmp_path / "labwarden.yaml"
    config.write_text(textwrap.dedent("""\
        rules:
          disable: [CMP070, image-latest-tag]
          severity: {outdated-protocol-enabled: low, ssh001: critical}
        waivers:
          - rule: docker-socket-mounted
            justification: the proxy reads the socket
            owner: ops
            expires: 2099-01-01
        """))
    probe = textwrap.dedent(f"""\
        import sys
        from labwarden.config import load_config
        config = load_config({str(config)!r})
        loaded = sorted(m for m in sys.modules if m.startswith("labwarden.rules.")
                        and m not in ("labwarden.rules.registry", "labwarden.rules._index"))
        print([sorted(config.disabled), sorted(config.severity_overrides), loaded])
        """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == str([["CMP070", "IMG001"], ["SSH001", "TLS001"], []])
