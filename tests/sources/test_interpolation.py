"""Variable interpolation as `docker compose config` does it (compose-go's template package)."""

from __future__ import annotations

import pytest

from labwarden.sources.compose.interpolate import InterpolationError, Outcome, interpolate

ENV = {"SET": "value", "EMPTY": "", "TAG": "1.25", "B": "bee"}


@pytest.mark.parametrize("text, expected", [
    ("${SET}", "value"),
    ("$SET", "value"),
    ("pre-${SET}-post", "pre-value-post"),
    ("$SET/path", "value/path"),
    ("${SET}${SET}", "valuevalue"),
    ("nginx:${TAG}", "nginx:1.25"),
    # :- uses the default when unset OR empty; - only when unset.
    ("${UNSET:-default}", "default"),
    ("${EMPTY:-default}", "default"),
    ("${SET:-default}", "value"),
    ("${UNSET-default}", "default"),
    ("${EMPTY-default}", ""),
    ("${SET-default}", "value"),
    ("${UNSET:-}", ""),
    # :+ gives the alternative when set and non-empty; + when set at all.
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${UNSET:+alt}", ""),
    ("${SET+alt}", "alt"),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    # $$ is a literal dollar and starts no reference.
    ("$$", "$"),
    ("$$SET", "$SET"),
    ("$${SET}", "${SET}"),
    ("$$$SET", "$value"),
    ("echo $$HOME", "echo $HOME"),
    # Nested defaults.
    ("${UNSET:-${B:-x}}", "bee"),
    ("${UNSET:-${ALSO_UNSET:-x}}", "x"),
    ("${SET:-${UNSET_INNER}}", "value"),
    ("${UNSET:-a-${B}-c}", "a-bee-c"),
    ("${UNSET:-a}b}", "ab}"),            # the first closing brace ends the reference
    ("no dollar at all", "no dollar at all"),
])
def test_interpolate(text, expected):
    assert interpolate(text, ENV.get) == expected


@pytest.mark.parametrize("text", [
    "${", "${SET", "${}", "${1}", "${SET:x}", "${SET.x}", "${UNSET:-${B}",
    "$1", "echo $(hostname)", "cost: 5$", "${SET:-$1}",
])
def test_malformed_reference_raises(text):
    # Compose refuses these ("invalid interpolation format"); `$$` would have escaped them.
    with pytest.raises(InterpolationError):
        interpolate(text, ENV.get)


def test_outcome_reports_missing_and_required_variables():
    outcome = Outcome()
    assert interpolate("${NOPE}-${SET}-$ALSO_NOPE", ENV.get, outcome) == "-value-"
    assert outcome.missing == ["NOPE", "ALSO_NOPE"]
    assert outcome.used == ["SET"]

    outcome = Outcome()
    assert interpolate("${EMPTY:?must be set}${UNSET?needed}${EMPTY?fine}", ENV.get,
                       outcome) == ""
    assert outcome.required == [("EMPTY", "must be set"), ("UNSET", "needed")]


def test_gaps_inside_an_unused_default_are_not_reported():
    outcome = Outcome()
    assert interpolate("${SET:-${NOT_NEEDED}}", ENV.get, outcome) == "value"
    assert outcome.missing == []
    outcome = Outcome()
    assert interpolate("${UNSET:-${NEEDED}}", ENV.get, outcome) == ""
    assert outcome.missing == ["NEEDED"]


# --- through the loader ---------------------------------------------------------------

def test_values_come_from_the_project_env(lw):
    root = lw.tree({
        "compose.yaml": """
            services:
              web:
                image: "nginx:${TAG}"
                container_name: ${NAME:-web}
                environment:
                  MODE: ${MODE-prod}
                  EMPTY_MODE: ${BLANK-unused}
                  LITERAL: "$$NOT_A_VAR"
                  NESTED: ${UNSET:-${TAG:-x}}
            """,
        ".env": """
            # comment line
            export TAG=1.27 # inline comment
            NAME='quoted web'
            BLANK=
            """,
    })
    loaded = lw.load(root)
    web = loaded.service("web")
    assert web.image == "nginx:1.27"
    assert web.get("container_name") == "quoted web"
    env = {k: v.value for k, v in web.environment.items()}
    assert env == {"MODE": "prod", "EMPTY_MODE": "", "LITERAL": "$NOT_A_VAR",
                   "NESTED": "1.27"}
    # What was written is kept, so rules can tell ${VAR} from a literal.
    assert web.environment["MODE"].from_variable
    assert not web.environment["LITERAL"].from_variable
    assert loaded.codes("error") == []


def test_unset_variable_is_a_gap_with_its_location(lw):
    root = lw.tree({"compose.yaml": """
        services:
          db:
            image: postgres:16
            environment:
              - POSTGRES_PASSWORD=${DB_PASSWORD}
            ports:
              - "${DB_PORT:-5432}:5432"
        """})
    loaded = lw.load(root)
    gap = loaded.diag("unset-variable")
    assert gap.level == "gap"
    assert "DB_PASSWORD" in gap.message
    assert lw.at(gap.location, root / "compose.yaml", "POSTGRES_PASSWORD")
    assert loaded.codes("gap") == ["unset-variable"]  # the defaulted port is no gap
    db = loaded.service("db")
    assert db.environment["POSTGRES_PASSWORD"].value == ""  # as Compose would run it
    assert db.ports[0].published == "5432"


def test_required_variable_is_a_gap(lw):
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: "app:${VERSION:?set VERSION in .env}"
            user: "${UID?}"
        """})
    loaded = lw.load(root)
    gaps = [d for d in loaded.diagnostics if d.code == "required-variable"]
    assert len(gaps) == 2 and all(d.level == "gap" for d in gaps)
    assert "set VERSION in .env" in gaps[0].message
    assert lw.at(gaps[0].location, root / "compose.yaml", "image:")
    assert lw.at(gaps[1].location, root / "compose.yaml", "user:")


def test_malformed_reference_is_an_error_and_the_rest_loads(lw):
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: nginx
            command: ["sh", "-c", "echo ${BROKEN"]
            environment:
              - FINE=${SET_HERE:-yes}
        """})
    loaded = lw.load(root)
    error = loaded.diag("bad-interpolation")
    assert error.level == "error"
    assert lw.at(error.location, root / "compose.yaml", "command:")
    assert "BROKEN" not in error.message  # values never go into messages
    app = loaded.service("app")
    assert app.environment["FINE"].value == "yes"
    assert app.get("command")[2] == "echo ${BROKEN"  # kept as written


def test_shell_syntax_needs_double_dollar(lw):
    root = lw.tree({"compose.yaml": """
        services:
          bad:
            image: alpine
            command: sh -c 'echo $1'
          good:
            image: alpine
            command: sh -c 'echo $$1 $${HOME}'
        """})
    loaded = lw.load(root)
    assert [d.location.line for d in loaded.diagnostics if d.code == "bad-interpolation"] == [
        lw.line_of(root / "compose.yaml", "echo $1")]
    assert loaded.service("good").get("command") == "sh -c 'echo $1 ${HOME}'"


def test_keys_are_not_interpolated(lw):
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: nginx
            labels:
              ${NOT_A_REFERENCE}: "${LABEL:-x}"
        """})
    loaded = lw.load(root)
    assert loaded.service("app").label("${NOT_A_REFERENCE}") == "x"


def test_use_environment_reads_the_shell(lw, monkeypatch):
    monkeypatch.setenv("LW_TEST_TAG", "from-shell")
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: "app:${LW_TEST_TAG}"
        """, ".env": "LW_TEST_TAG=from-dotenv\n"})
    assert lw.load(root).service("app").image == "app:from-dotenv"
    # The shell wins over .env, as in Compose.
    assert lw.load(root, use_environment=True).service("app").image == "app:from-shell"


def test_env_file_option_replaces_the_project_env(lw):
    root = lw.tree({
        "compose.yaml": "services:\n  app:\n    image: app:${TAG}\n",
        ".env": "TAG=default\n",
        "prod.env": "TAG=prod\n",
    })
    loaded = lw.load(root, env_file=str(root / "prod.env"))
    assert loaded.service("app").image == "app:prod"


def test_dotenv_multi_line_and_interpolated_values_reach_services(lw):
    root = lw.tree({
        "compose.yaml": """
            services:
              app:
                image: app
                environment:
                  URL: ${BASE_URL}
                  CERT: "${CERT}"
                  RAW: ${RAW}
            """,
        ".env": (
            "DOMAIN=example.org\n"
            'export BASE_URL="https://${DOMAIN}/app"  # where it lives\n'
            'CERT="-----BEGIN-----\n'
            "abc\n"
            '-----END-----"\n'
            "RAW='${DOMAIN}'\n"
        ),
    })
    loaded = lw.load(root)
    env = {k: v.value for k, v in loaded.service("app").environment.items()}
    assert env == {"URL": "https://example.org/app",
                   "CERT": "-----BEGIN-----\nabc\n-----END-----", "RAW": "${DOMAIN}"}
    dotenv = loaded.project.dotenv
    assert dotenv.variables["RAW"].location.line == 6
    assert loaded.codes("gap") == [] and loaded.codes("error") == []


def test_a_dollar_written_as_a_yaml_escape_is_interpolated(lw):
    # A file with no `$` in its text is not walked for references; an escape in a
    # double-quoted scalar still makes one, which Compose interpolates after parsing.
    root = lw.tree({"compose.yaml": r"""
        services:
          web:
            image: "nginx:\x24{TAG}"
            environment:
              GREETING: "\u0024{UNSET_GREETING}"
        """, ".env": "TAG=1.27\n"})
    loaded = lw.load(root)
    web = loaded.service("web")
    assert web.image == "nginx:1.27"
    assert web.environment["GREETING"].value == ""
    assert "UNSET_GREETING" in loaded.diag("unset-variable").message
