"""no-new-privileges is not "safe" for images that need sudo, setuid or file capabilities,
and cap_drop: [ALL] names what such images need back (issue 16, knowledge.privileges)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_lab import write

from labwarden.knowledge.privileges import needs


def _lab(tmp_path: Path, service: str, env_file: str | None = None) -> Path:
    files = {"app/compose.yaml": "services:\n" + service}
    if env_file is not None:
        files["app/app.env"] = env_file
    write(tmp_path, files)
    return tmp_path / "app" / "compose.yaml"


@pytest.mark.parametrize("service, env_file, why", [
    # an image configured with a sudo password (the example)
    ("""
  code:
    image: lscr.io/linuxserver/code-server:4.95.3
    environment:
      PUID: "1000"
      SUDO_PASSWORD: ${SUDO_PASSWORD}
""", None, "`SUDO_PASSWORD` gives its user sudo"),
    # the same, the variable in an env_file
    ("""
  code:
    image: lscr.io/linuxserver/openssh-server:9.9
    env_file: app.env
""", "PUID=1000\nSUDO_ACCESS=true\n", "`SUDO_ACCESS` gives its user sudo"),
    # a known image, without any variable
    ("""
  code:
    image: codercom/code-server:4.95.3
""", None, "becomes root with sudo"),
    ("""
  dns:
    image: pihole/pihole:2024.07.0
""", None, "setcap"),
])
def test_no_new_privileges_is_skipped_for_images_that_need_them(tmp_path, run_fix, service,
                                                                  env_file, why):
    path = _lab(tmp_path, service, env_file)
    before = path.read_text()
    result = run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP012")
    line = result.line("CMP012", "skipped")
    assert "not safe for this service" in line and why in line, result.err
    assert path.read_text() == before
    # Without --rule, the safe fixes run: the file is not touched for CMP012 either.
    assert "no-new-privileges" not in run_fix(str(tmp_path), "--no-config").out


def test_an_ordinary_image_still_gets_it_and_s6_images_are_told_their_capabilities(tmp_path,
                                                                                     run_fix):
    path = _lab(tmp_path, """
  sonarr:
    image: lscr.io/linuxserver/sonarr:4.0.9
    environment: [PUID=1000, PGID=1000]
  web:
    image: ghcr.io/example/web:1.4
""")
    result = run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP012")
    assert result.code == 0, result.err
    assert path.read_text().count("security_opt: [no-new-privileges:true]") == 2
    sonarr = [l for l in result.line("CMP012", "fixed").splitlines() if "sonarr" in l][0]
    assert "cap_drop: [ALL] with cap_add: [CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID] " \
           "(s6-overlay starts as root" in sonarr
    web = [l for l in result.line("CMP012", "fixed").splitlines() if " web:" in l][0]
    assert "cap_add" not in web


def test_the_table_matches_by_repository_and_reads_variables_case_insensitively():
    assert [n.nnp for n in needs("ghcr.io/linuxserver/code-server:latest", [])] == [True, False]
    assert needs("docker.io/library/postgres:16", ["POSTGRES_PASSWORD"]) == []
    assert [n.nnp for n in needs("ghcr.io/example/app:1", ["sudo_password"])] == [True]
    assert needs("louislam/uptime-kuma:1", [])[0].caps == ("NET_RAW",)
