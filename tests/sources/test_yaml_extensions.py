"""A Compose file's extension fields (`x-` keys at the top level and in a service) are not
built, since nothing reads them; what building them would report is reported all the same,
and a field that interpolation could change, or an alias could name, is built as before."""

from __future__ import annotations

import textwrap

import pytest

from labwarden.sources.yamlfile import Map, Seq, parse_yaml

from .conftest import at, load_dir, write


def _parse(text: str, compose: bool):
    return parse_yaml(textwrap.dedent(text).lstrip("\n"), "compose.yaml", compose=compose)


def _extension_places(document: Map):
    """(mapping, key) of each extension field `compose_document` leaves unbuilt."""
    places = [(document, k) for k in document if k.startswith("x-")]
    services = document.get("services")
    if isinstance(services, Map):
        places += [(service, k) for service in services.values() if isinstance(service, Map)
                   for k in service if k.startswith("x-")]
    return places


CASES = {
    "metadata": """
        services:
          app:
            image: nginx:1.27
            x-casaos:
              envs: [{container: TZ, description: {en_us: Time zone}}]
              ports: [{container: "80", description: {en_us: Web UI}}]
        x-casaos:
          architectures: [amd64, arm64]
          main: app
          tagline: {en_us: A web server}
        """,
    "problems inside": """
        x-meta:
          title: one
          title: two
          nested:
            - {a: 1, a: 2}
            - ? [complex]
              : key
          merged:
            <<: [{a: 1}, just-a-scalar]
        services:
          app:
            image: nginx:1.27
            x-extra: {~: one, null: two, <<: {k: v}}
        """,
    "sequence and tagged values": """
        x-list: [one, {two: 2, two: 3}]
        x-tagged: !!str 5
        x-reset: !reset []
        services:
          app:
            image: nginx:1.27
        """,
}


@pytest.mark.parametrize("name", CASES)
def test_extension_fields_report_what_building_them_reports(name: str) -> None:
    [built], built_problems = _parse(CASES[name], compose=False)
    [document], problems = _parse(CASES[name], compose=True)
    assert problems == built_problems
    places = _extension_places(document)
    assert places, "the case has extension fields"
    unbuilt = [(m, k) for m, k in places if isinstance(m[k], (Map, Seq)) and not m[k]]
    assert unbuilt, "some extension field was left unbuilt"
    for mapping, key in unbuilt:
        assert mapping.loc_of(key) is not None and mapping[key].loc is not None
    # Everything else is as built whole.
    for mapping, key in _extension_places(built):
        del mapping[key]
    for mapping, key in places:
        del mapping[key]
    assert document == built


def test_the_problems_inside_an_extension_field_are_the_same_errors(tmp_path) -> None:
    root = write(tmp_path, {"compose.yaml": CASES["problems inside"]})
    loaded = load_dir(root)
    duplicates = [d for d in loaded.diagnostics if d.code == "duplicate-key"]
    assert [d.level for d in duplicates] == ["error"] * 3   # title, a, and ~ with null
    assert at(duplicates[0].location, root / "compose.yaml", "title: two")
    assert {"complex-key", "bad-merge"} <= set(loaded.codes("warning"))


def test_an_extension_field_interpolation_could_change_is_built(tmp_path) -> None:
    # Compose interpolates the whole file, extension fields included: a reference there
    # that it refuses is refused here too, also when written as a YAML escape.
    root = write(tmp_path, {"compose.yaml": r"""
        x-meta:
          url: "https://\x24{DOMAIN:?set DOMAIN in .env}/app"
        services:
          app:
            image: nginx:1.27
            x-labels: {build: "${BUILD_ID:-dev}"}
        """})
    loaded = load_dir(root)
    project = loaded.project
    assert project is not None
    assert at(loaded.diag("required-variable").location, root / "compose.yaml", "url:")
    assert project.raw["x-meta"]["url"] == "https:///app"
    assert project.services["app"].raw["x-labels"] == {"build": "dev"}


def test_x_keys_that_are_not_extension_fields_are_built(tmp_path) -> None:
    # A service, a network or a volume may be named `x-…`, and a first-format file (no
    # `services:`) has its services at the top level.
    root = write(tmp_path / "names", {"compose.yaml": """
        services:
          x-web:
            image: nginx:1.27
            networks: [x-net]
        networks:
          x-net: {driver: bridge}
        """})
    loaded = load_dir(root)
    assert loaded.service("x-web").image == "nginx:1.27"
    assert loaded.project.raw["networks"]["x-net"] == {"driver": "bridge"}
    [legacy], _ = _parse("""
        x-web:
          image: nginx:1.27
        """, compose=True)
    assert legacy == {"x-web": {"image": "nginx:1.27"}}


def test_an_extension_field_an_alias_names_is_built(tmp_path) -> None:
    root = write(tmp_path, {"compose.yaml": """
        x-base: &base
          image: nginx:1.27
          read_only: true
        services:
          web:
            <<: *base
            x-copy: *base
        """})
    loaded = load_dir(root)
    web = loaded.service("web")
    assert web.image == "nginx:1.27" and web.raw["read_only"] is True
    assert loaded.project.raw["x-base"] == web.raw["x-copy"] == {"image": "nginx:1.27",
                                                                "read_only": True}
