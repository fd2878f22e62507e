"""The guards inside the rewrite: a change ruamel cannot separate from a reformat is refused,
a change outside the declared paths is refused, one refused fix does not sink the others,
and the digest sources are read strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fix_lab import DATA, write

from labwarden.fix.digests import DigestBook, DigestFileError
from labwarden.fix.yamledit import Document, Skip, insert_after, own
from labwarden.knowledge.imageref import parse_image


def test_an_edit_that_ruamel_would_entangle_with_a_reformat_is_refused(tmp_path, run_fix):
    # ruamel moves the comment after `<<: *base` to a line of its own: the new key cannot be
    # added to `one` without that reformat, so `one` is skipped; `two` is fixed.
    write(tmp_path, {"app/compose.yaml": """
    x-base: &base
      image: nginx:1.27.3
    services:
      one:
        <<: *base   # the shared base
      two:
        image: nginx:1.27.3
    """})
    path = tmp_path / "app" / "compose.yaml"
    result = run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP071")
    assert path.read_text().splitlines()[4:] == [
        "    <<: *base   # the shared base",
        "  two:",
        "    image: nginx:1.27.3",
        "    restart: unless-stopped",
    ]
    assert "one: ruamel.yaml would reformat the lines around the change" in \
        result.line("CMP071", "skipped")
    assert "two: added `restart: unless-stopped`" in result.line("CMP071", "fixed")


def test_a_change_outside_the_declared_paths_is_refused() -> None:
    doc = Document("compose.yaml", "services:\n  web:\n    image: nginx:1.27.3\n")
    service = own(own(doc.root, "services"), "web")
    insert_after(doc, service, ("image",), "restart", "always")
    doc.touch("services", "web", "logging")          # declares another path than it edits
    with pytest.raises(Skip, match="would also change `services.web.restart`"):
        doc.render()


def test_an_unedited_document_renders_byte_for_byte() -> None:
    text = "services:\n    web:\n        image:   nginx   # odd spacing\n"
    assert Document("compose.yaml", text).render() == text


@pytest.mark.parametrize("text, reason", [
    ("services:\n  a: {image: x}\n---\nservices: {}\n", "several YAML documents"),
    ("- a\n- b\n", "not a YAML mapping"),
])
def test_files_that_cannot_be_rewritten_say_why(text, reason) -> None:
    with pytest.raises(Skip, match=reason):
        Document("compose.yaml", text)


# --- digest sources ------------------------------------------------------------------------

def test_docker_image_inspect_output_pairs_tags_with_repository_digests() -> None:
    """The fixture has the shape of `docker image inspect` output; its digests are synthetic.
    It stands in for the Docker Engine, which the tests never contact."""
    book = DigestBook()
    book.load(str(DATA / "docker-image-inspect.json"))
    digest, source = book.lookup(parse_image("docker.io/library/postgres:16.4"))
    assert digest == "sha256:b74044f8842a8599b9d93ef8651815d55aca3e0dbf4b180df1fbd1b37767e7fc"
    assert source.endswith("docker-image-inspect.json")
    # Two tags of one image share its repository digest.
    assert book.lookup(parse_image("grafana/grafana:latest"))[0] == \
        book.lookup(parse_image("grafana/grafana:11.3.0"))[0]
    # The image Id (the configuration's digest) is never used as a pin.
    ids = {entry["Id"] for entry in json.loads((DATA / "docker-image-inspect.json").read_text())}
    assert book.lookup(parse_image("homelab/backup-agent:dev"))[0] is None
    assert not ids & {book.lookup(parse_image("postgres:16.4"))[0]}


def test_conflicting_digests_are_not_guessed_between(tmp_path: Path) -> None:
    write(tmp_path, {
        "a.lock": "images:\n  postgres:16.4: sha256:%s\n" % ("a" * 64),
        "b.lock": "images:\n  docker.io/library/postgres:16.4: sha256:%s\n" % ("b" * 64)})
    book = DigestBook()
    book.load(str(tmp_path / "a.lock"))
    book.load(str(tmp_path / "b.lock"))
    digest, why = book.lookup(parse_image("postgres:16.4"))
    assert digest is None and "2 different digests are recorded" in why


@pytest.mark.parametrize("text, message", [
    ("images:\n  postgres: sha256:%s\n" % ("a" * 64), "with a tag"),
    ("images:\n  postgres:16.4: redis@sha256:%s\n" % ("a" * 64), "another repository"),
    ("images:\n  postgres:16.4: sha256:abc\n", "not a sha256 digest"),
    ("postgres:16.4: sha256:abc\n", "neither a lock file"),
    ('[{"Id": "sha256:1", "State": {"Running": true}, "Image": "sha256:2"}]',
     "docker container inspect"),
])
def test_malformed_digest_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, {"digests": text})
    with pytest.raises(DigestFileError, match=message):
        DigestBook().load(str(tmp_path / "digests"))


def test_every_fixer_names_a_registered_rule_and_only_behaviour_safe_ones_are_safe() -> None:
    from labwarden.fix import FIXERS, ORDER
    from labwarden.rules.registry import get

    assert sorted(FIXERS) == sorted(ORDER)
    for rule_id, fixer in FIXERS.items():
        assert get(rule_id) is not None, rule_id
        assert callable(fixer.apply)
    assert {r for r, f in FIXERS.items() if not f.safe} == {
        "NET001", "NET002", "NET003", "CMP090", "CMP001"}
