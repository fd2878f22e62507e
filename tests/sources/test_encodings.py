"""Text encodings: UTF-8 (with or without a byte-order mark), and UTF-16 or UTF-32 announced
by theirs, as YAML allows, are read; only binary data is called binary, and bytes that are
not valid in their encoding are an error at their line."""

from __future__ import annotations

import codecs

import pytest

from labwarden.sources.envfile import read_env_file

COMPOSE = "services:\n  web:\n    image: nginx:${TAG}\n    privileged: true\n"
DOTENV = "# the tag\nTAG=1.27-é\n"

# name -> (byte-order mark, codec): every encoding a YAML parser must accept.
ENCODINGS = {
    "utf-8": (b"", "utf-8"),
    "utf-8 with BOM": (codecs.BOM_UTF8, "utf-8"),
    "utf-16 LE": (codecs.BOM_UTF16_LE, "utf-16-le"),
    "utf-16 BE": (codecs.BOM_UTF16_BE, "utf-16-be"),
    "utf-32 LE": (codecs.BOM_UTF32_LE, "utf-32-le"),
    "utf-32 BE": (codecs.BOM_UTF32_BE, "utf-32-be"),
}


def encoded(text: str, name: str) -> bytes:
    bom, codec = ENCODINGS[name]
    return bom + text.encode(codec)


@pytest.mark.parametrize("name", ENCODINGS)
def test_compose_file_in_each_encoding(lw, name):
    root = lw.tree({"compose.yaml": encoded(COMPOSE, name), ".env": encoded(DOTENV, name)})
    loaded = lw.load(root)
    assert loaded.codes("error") == []
    web = loaded.service("web")
    assert web.image == "nginx:1.27-é"
    assert web.loc("privileged").line == 4  # lines are counted in text, not bytes


@pytest.mark.parametrize("name", ENCODINGS)
def test_env_file_in_each_encoding(tmp_path, name):
    path = tmp_path / "app.env"
    path.write_bytes(encoded(DOTENV, name))
    env = read_env_file(str(path))
    assert env.problems == [] and env.readable
    assert env.values() == {"TAG": "1.27-é"}
    assert env.variables["TAG"].location.line == 2


def test_utf16_without_its_mark_is_binary(lw, tmp_path):
    root = lw.tree({"compose.yaml": COMPOSE.encode("utf-16-le")})
    assert lw.load_files(root, "compose.yaml").codes("error") == ["binary-file"]
    path = tmp_path / "app.env"
    path.write_bytes(DOTENV.encode("utf-16-le"))
    assert [c for c, _, _ in read_env_file(str(path)).problems] == ["binary-file"]


@pytest.mark.parametrize("name", ENCODINGS)
def test_nul_character_in_any_encoding_is_binary(lw, name):
    text = "services:\n  web:\n    image: \x00\n"
    root = lw.tree({"compose.yaml": encoded(text, name)})
    error = lw.load_files(root, "compose.yaml").diag("binary-file")
    assert error.level == "error" and error.location.line == 3


def test_invalid_utf16_is_an_error_at_its_line(lw, tmp_path):
    lone_surrogate = "\ud800".encode("utf-16-le", "surrogatepass")
    data = encoded("services:\n  web:\n", "utf-16 LE") + lone_surrogate + "\n".encode(
        "utf-16-le")
    root = lw.tree({"compose.yaml": data})
    error = lw.load_files(root, "compose.yaml").diag("invalid-encoding")
    assert error.location.line == 3 and "UTF-16 LE" in error.message
    path = tmp_path / "app.env"
    path.write_bytes(encoded("A=1\nB=2\n", "utf-16 LE") + lone_surrogate)
    problems = read_env_file(str(path)).problems
    assert [(c, loc.line) for c, _, loc in problems] == [("invalid-encoding", 3)]


def test_invalid_utf8_without_a_mark_stays_an_error_at_its_line(lw, tmp_path):
    root = lw.tree({"compose.yaml": b"services:\n  web:\n    image: caf\xe9\n"})
    error = lw.load_files(root, "compose.yaml").diag("invalid-utf8")
    assert error.level == "error" and error.location.line == 3
    path = tmp_path / "app.env"
    path.write_bytes(b"A=1\nB=caf\xe9\n")
    problems = read_env_file(str(path)).problems
    assert [(c, loc.line) for c, _, loc in problems] == [("invalid-utf8", 2)]


def test_binary_data_is_called_binary_even_when_it_is_not_utf8(lw):
    # A PNG: its first byte is not UTF-8, but the file is binary, and that is what to say.
    root = lw.tree({"compose.yaml": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"})
    assert lw.load_files(root, "compose.yaml").codes("error") == ["binary-file"]


@pytest.mark.parametrize("name", ENCODINGS)
def test_only_utf8_without_a_mark_is_handed_to_the_parser_as_read(name):
    from labwarden.sources._read import decode_text, is_plain_utf8

    data = encoded(COMPOSE, name)
    assert is_plain_utf8(data) == (name == "utf-8")
    if is_plain_utf8(data):
        assert decode_text(data).encode("utf-8") == data


@pytest.mark.parametrize("text", [
    "services:\n  web:\n    image: nginx:1.27-é\n    labels: {\"clé\": \"vàl\"}\n    x: [1, 2\n",
    "a: 1\nb: \x01\n",                           # a control character libyaml refuses
    "# é\nservices:\n  é: {image: \"ü\", ports: ['80:80']}\n  &a: *b\n",
    "κλειδί: τιμή\nlist:\n  - 😀\n  - ö: 1\n",
])
def test_parsing_the_bytes_read_is_parsing_the_text(text):
    """Given the file's UTF-8 bytes, libyaml sees what it sees of the text: the same values,
    lines and columns, and the same syntax errors."""
    from labwarden.sources.yamlfile import YamlLoadError, parse_yaml

    def parsed(utf8):
        try:
            documents, problems = parse_yaml(text, "f.yaml", utf8)
        except YamlLoadError as exc:
            return exc.code, exc.message, exc.location
        locations = [(d.loc, dict(d.key_locs)) for d in documents if hasattr(d, "key_locs")]
        return documents, problems, locations

    assert parsed(text.encode("utf-8")) == parsed(None)
