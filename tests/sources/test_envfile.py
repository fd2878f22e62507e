"""The `.env` / `env_file` dialect, as compose-go's dotenv package reads it."""

from __future__ import annotations

import os

import pytest

from labwarden.sources.envfile import parse_env_text, read_env_file


def parse(text: str, lookup=None):
    env = parse_env_text(text, "x.env", lookup)
    return {k: v.value for k, v in env.variables.items()}, env


@pytest.mark.parametrize("line, value", [
    ("KEY=value", "value"),
    ("KEY = value", "value"),
    ("KEY=  spaced value  ", "spaced value"),
    ("export KEY=value", "value"),
    ("export   KEY=value", "value"),
    ("KEY: yaml-style", "yaml-style"),
    ("KEY=", ""),
    ("KEY=value # comment", "value"),
    ("KEY=abc#def", "abc#def"),          # `#` starts a comment only after a space
    ("KEY=abc\t#def", "abc\t#def"),      # ... a space, not a tab (compose-go cuts " #")
    ("KEY=   # note", "# note"),         # leading blanks go first: the value is "# note"
    ("KEY='single # not a comment'", "single # not a comment"),
    ("KEY='literal $VAR and \\n'", "literal $VAR and \\n"),
    ("KEY='it\\'s'", "it's"),
    ('KEY="double # not a comment"', "double # not a comment"),
    ('KEY="tab\\tnewline\\nquote\\"backslash\\\\"', 'tab\tnewline\nquote"backslash\\'),
    ('KEY="unknown \\x escape"', "unknown \\x escape"),
    ('KEY="octal \\0123"', "octal S"),
    ('KEY="a" # trailing comment', "a"),
    ("KEY=a=b=c", "a=b=c"),
    ("KEY=postgres://user@host/db?x=1", "postgres://user@host/db?x=1"),
])
def test_single_line_values(line, value):
    values, env = parse(line + "\n")
    assert values == {"KEY": value}
    assert env.problems == []


def test_multi_line_quoted_values_and_line_numbers():
    text = (
        "FIRST=1\n"
        'CERT="-----BEGIN-----\n'
        "abc\n"
        '-----END-----"\n'
        "SINGLE='one\n"
        "two'\n"
        "\n"
        "# a comment\n"
        "LAST=9\n"
    )
    values, env = parse(text)
    assert values["CERT"] == "-----BEGIN-----\nabc\n-----END-----"
    assert values["SINGLE"] == "one\ntwo"
    assert values["LAST"] == "9"
    lines = {k: v.location.line for k, v in env.variables.items()}
    assert lines == {"FIRST": 1, "CERT": 2, "SINGLE": 5, "LAST": 9}
    assert env.variables["CERT"].quoted and not env.variables["FIRST"].quoted


def test_interpolation_inside_env():
    values, env = parse(
        "HOST=db\n"
        "URL=postgres://${HOST}:${PORT:-5432}/app\n"
        'QUOTED="${HOST}-x"\n'
        "SINGLE='${HOST}'\n"
        'ESCAPED="\\$HOST"\n'
        "DOUBLED=$$HOST\n"
        "LATER=${DEFINED_BELOW}\n"
        "DEFINED_BELOW=x\n"
    )
    assert values["URL"] == "postgres://db:5432/app"
    assert values["QUOTED"] == "db-x"
    assert values["SINGLE"] == "${HOST}"
    assert values["ESCAPED"] == "$HOST"
    assert values["DOUBLED"] == "$HOST"
    assert values["LATER"] == ""
    # The written form is kept: a rule can tell a reference from a literal.
    assert env.variables["URL"].written == "postgres://${HOST}:${PORT:-5432}/app"
    assert env.variables["HOST"].written is None


def test_lookup_wins_over_earlier_definitions():
    # compose-go looks a reference up in the environment first, then in the file.
    values, _ = parse("A=file\nB=${A}\n", {"A": "shell"}.get)
    assert values == {"A": "file", "B": "shell"}


def test_bare_key_takes_its_value_from_the_environment():
    values, env = parse("FROM_SHELL\nNOT_SET\nX=1\n", {"FROM_SHELL": "s"}.get)
    assert values == {"FROM_SHELL": "s", "X": "1"}
    assert env.problems == []


@pytest.mark.parametrize("text, line", [
    ("GOOD=1\nnot a key value line\n", 2),
    ("GOOD=1\nBAD!KEY=2\n", 2),
    ("GOOD=1\nMY KEY=2\n", 2),
    ('GOOD=1\nOPEN="never closed\nNEXT=2\n', 2),
    ("GOOD=1\nDOLLAR=ab$1\n", 2),
])
def test_syntax_problems_have_their_line_and_the_rest_is_read(text, line):
    values, env = parse(text)
    assert [(code, loc.line) for code, _, loc in env.problems] == [("env-syntax", line)]
    assert values["GOOD"] == "1"


def test_problem_messages_never_quote_values():
    _, env = parse('SECRET="hunter2-never-closed\n')
    assert env.problems and all("hunter2" not in message for _, message, _ in env.problems)


def test_crlf_and_bom(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(b"\xef\xbb\xbfA=1\r\nB='two'\r\n")
    env = read_env_file(str(path))
    assert env.values() == {"A": "1", "B": "two"}


def test_read_env_file_records_mode(tmp_path):
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    os.chmod(path, 0o640)
    env = read_env_file(str(path))
    assert env.mode == 0o640 and env.readable and env.problems == []


def test_binary_and_invalid_utf8_env_files(tmp_path):
    binary = tmp_path / "bin.env"
    binary.write_bytes(b"A=1\nB=\x00\x01\x02\n")
    env = read_env_file(str(binary))
    assert [(c, loc.line) for c, _, loc in env.problems] == [("binary-file", 2)]
    assert env.variables == {}

    latin1 = tmp_path / "latin1.env"
    latin1.write_bytes(b"A=1\nB=caf\xe9\n")
    env = read_env_file(str(latin1))
    assert [(c, loc.line) for c, _, loc in env.problems] == [("invalid-utf8", 2)]


def test_special_files_are_not_opened(tmp_path):
    # A FIFO would block the reader forever; /dev/zero would never end.
    fifo = tmp_path / "fifo.env"
    os.mkfifo(fifo)
    env = read_env_file(str(fifo))
    assert [c for c, _, _ in env.problems] == ["not-a-file"] and not env.readable
    if os.path.exists("/dev/zero"):
        env = read_env_file("/dev/zero")
        assert [c for c, _, _ in env.problems] == ["not-a-file"]


def test_too_large_env_file_is_not_read(tmp_path):
    path = tmp_path / "big.env"
    with open(path, "wb") as handle:
        handle.truncate(5 * 1024 * 1024)  # sparse: costs no disk and no time
    env = read_env_file(str(path))
    assert [c for c, _, _ in env.problems] == ["file-too-large"]


# --- the project .env drives Compose itself ------------------------------------------

def test_compose_file_from_env_selects_the_files(lw):
    root = lw.tree({
        ".env": "COMPOSE_FILE=base.yml:extra/more.yml\n",
        "compose.yaml": "services:\n  ignored:\n    image: nope\n",
        "base.yml": "services:\n  app:\n    image: app:1\n",
        "extra/more.yml": "services:\n  app:\n    read_only: true\n  worker:\n    image: w\n",
    })
    loaded = lw.load(root)
    assert sorted(loaded.project.services) == ["app", "worker"]
    assert loaded.service("app").flag("read_only") is True
    assert [os.path.basename(f) for f in loaded.project.files] == ["base.yml", "more.yml"]


def test_compose_file_with_custom_separator(lw):
    root = lw.tree({
        ".env": "COMPOSE_PATH_SEPARATOR=,\nCOMPOSE_FILE=a.yml,b.yml\n",
        "compose.yaml": "services: {}\n",
        "a.yml": "services:\n  a:\n    image: a\n",
        "b.yml": "services:\n  b:\n    image: b\n",
    })
    assert sorted(lw.load(root).project.services) == ["a", "b"]


def test_explicit_files_ignore_compose_file(lw):
    root = lw.tree({
        ".env": "COMPOSE_FILE=other.yml\n",
        "main.yml": "services:\n  main:\n    image: m\n",
        "other.yml": "services:\n  other:\n    image: o\n",
    })
    assert sorted(lw.load_files(root, "main.yml").project.services) == ["main"]


def test_compose_project_name_from_env(lw):
    root = lw.tree({
        ".env": "COMPOSE_PROJECT_NAME=My_Stack.Prod\n",
        "compose.yaml": "name: from-file\nservices:\n  app:\n    image: a\n",
    })
    project = lw.load(root).project
    # COMPOSE_PROJECT_NAME wins over `name:`; normalised as Compose does.
    assert project.compose_name == "my_stackprod"

    root = lw.tree({"compose.yaml": "name: ${STACK:-Media}\nservices:\n  a:\n    image: a\n"})
    assert lw.load(root).project.compose_name == "media"

    root = lw.tree({"compose.yaml": "services:\n  a:\n    image: a\n"}, name="Dir_Name")
    assert lw.load(root).project.compose_name == "dir_name"


def test_unreadable_dotenv_still_loads_the_project(lw):
    root = lw.tree({
        "compose.yaml": "services:\n  app:\n    image: app:${TAG:-safe}\n",
        ".env": b"TAG=\x00binary\n",
    })
    loaded = lw.load(root)
    assert loaded.service("app").image == "app:safe"
    error = loaded.diag("binary-file")
    assert error.level == "error" and error.location.path.endswith(".env")
