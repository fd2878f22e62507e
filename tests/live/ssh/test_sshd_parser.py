"""The offline sshd_config parser, checked against sshd itself: for each fixture tree (Include
globs, a drop-in that overrides the main file, Match blocks in included files, Include
inside Match, `Keyword=value`, quotes, comments) and each connection, the values the parser
computes equal what `sshd -T -f FILE [-C user=…,host=…,addr=…]` prints."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sshd_servers
from ssh_probe import sshd_run

from labwarden.model import Location
from labwarden.sources.sshd_config import (
    DEFAULTS,
    parse_sshd_config,
    parse_sshd_T,
    split_line,
)

CONFIGS = Path(__file__).parent / "configs"
COMPARED = ("permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication",
            "x11forwarding", "maxauthtries", "usepam", "allowusers", "port", "banner",
            "permitemptypasswords")


def _values(config, keyword):
    if keyword in ("allowusers", "port"):
        values = [arg for option in config.all(keyword) for arg in option.args]
        return values or ([DEFAULTS[keyword]] if keyword in DEFAULTS else [])
    return config.setting(keyword)


def _tree(name: str, tmp_path: Path) -> Path:
    """Copy a fixture tree, filling in its directory and a fresh host key."""
    root = tmp_path / name
    shutil.copytree(CONFIGS / name, root)
    key = sshd_servers.make_host_key(tmp_path, "ed25519")
    for path in root.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text().replace("@DIR@", str(root))
                            .replace("@KEY@", str(key)))
    return root / "sshd_config"


CONNECTIONS = {
    "cloud": [
        None,
        {"user": "root", "host": "web.example", "addr": "192.0.2.7"},
        {"user": "backup", "host": "web.example", "addr": "192.0.2.7"},
        {"user": "root", "host": "pve.lab.example", "addr": "10.1.2.3"},
        {"user": "root", "host": "web.example", "addr": "10.1.2.3"},
        {"user": "root", "host": "web.example", "addr": "10.9.0.5"},
        {"user": "backup", "host": "nas.lab.example", "addr": "10.1.2.3"},
    ],
    "matchinclude": [          # (sshd -T refuses `Match LocalPort` without -C lport=)
        {"user": "alice", "host": "h", "addr": "192.0.2.9", "lport": "22"},
        {"user": "alice", "host": "h", "addr": "198.51.100.1", "lport": "2222"},
        {"user": "nobody", "host": "h", "addr": "192.0.2.9", "lport": "22"},
        {"user": "mallory", "host": "h", "addr": "192.0.2.9", "lport": "22"},
    ],
}


def _spec(context: dict) -> str:
    full = {"laddr": "127.0.0.1", "lport": "22", **context}
    return ",".join(f"{k}={v}" for k, v in full.items())


@pytest.mark.parametrize("tree", sorted(CONNECTIONS))
def test_parser_agrees_with_sshd(tree, tmp_path):
    main = _tree(tree, tmp_path)
    for context in CONNECTIONS[tree]:
        args = ["-T", "-f", str(main)] + (["-C", _spec(context)] if context else [])
        result = sshd_run(*args)
        assert result.returncode == 0, result.stderr
        theirs = parse_sshd_T(result.stdout)
        ours = parse_sshd_config(str(main), match=(
            {"laddr": "127.0.0.1", "lport": "22", **context} if context else None))
        for keyword in COMPARED:
            assert _values(ours, keyword) == _values(theirs, keyword), (context, keyword)
        if context:
            assert not ours.conditional      # every block decided for a full connection


def test_first_value_wins_and_points_at_the_drop_in(tmp_path):
    main = _tree("cloud", tmp_path)
    config = parse_sshd_config(str(main))
    value, option = config.value("PasswordAuthentication")
    assert value == "yes"
    assert option.location == Location(str(main.parent / "sshd_config.d/50-cloud-init.conf"), 1)
    assert config.value("MaxAuthTries")[1].location.path.endswith("10-early.conf")
    assert config.files == [str(main)] + [
        str(main.parent / "sshd_config.d" / name)
        for name in ("10-early.conf", "50-cloud-init.conf", "60-match.conf")]   # README not
    assert config.value("PermitRootLogin")[1].location == Location(str(main), 6)


def test_match_blocks_without_a_connection_are_conditional(tmp_path):
    main = _tree("cloud", tmp_path)
    config = parse_sshd_config(str(main))
    conditions = {(o.keyword, o.value, o.condition) for o in config.conditional}
    assert ("permitrootlogin", "yes", "Match Host *.lab.example") in conditions
    assert ("kbdinteractiveauthentication", "yes", "Match Host *.lab.example") in conditions
    assert ("passwordauthentication", "yes", "Match User backup") in conditions
    assert ("maxauthtries", "5", "Match Address 10.0.0.0/8,!10.9.0.0/16") in conditions
    # the Match block of 60-match.conf ended with that file
    assert config.value("HostKey")[1].condition is None


def test_include_inside_match_is_conditional_on_both(tmp_path):
    main = _tree("matchinclude", tmp_path)
    config = parse_sshd_config(str(main))
    nested = [o for o in config.conditional if o.keyword == "permitrootlogin"]
    assert nested[0].condition == ("Match User alice,!mallory Address 192.0.2.0/24 and "
                                   "Match User nobody")
    assert config.listen_ports() == [2222, 22]


def test_sshd_T_values_get_the_line_that_set_them(tmp_path):
    main = _tree("cloud", tmp_path)
    result = sshd_run("-T", "-f", str(main))
    config = parse_sshd_T(result.stdout, file_config=parse_sshd_config(str(main)))
    assert config.effective
    assert config.value("passwordauthentication")[1].location.path.endswith(
        "50-cloud-init.conf")
    assert config.value("permitrootlogin")[1].location == Location(str(main), 6)
    assert config.first("ciphers").location is None          # a default: no line
    assert config.conditional                                 # Match blocks from the files


# --- offline only ---------------------------------------------------------------------------

def test_split_line_follows_sshd():
    assert split_line("  PermitRootLogin=no") == ["PermitRootLogin", "no"]
    assert split_line("PermitRootLogin = no") == ["PermitRootLogin", "no"]
    assert split_line('Banner "/etc/issue net"  # comment') == ["Banner", "/etc/issue net"]
    assert split_line("AllowUsers a b\tc") == ["AllowUsers", "a", "b", "c"]
    assert split_line("# PermitRootLogin yes") == []
    assert split_line("   ") == []
    assert split_line('AuthorizedKeysFile ""') == ["AuthorizedKeysFile", ""]


def test_relative_includes_and_a_remote_reader():
    files = {
        "/etc/ssh/sshd_config": "Include sshd_config.d/*.conf\nPermitRootLogin no\n",
        "/etc/ssh/sshd_config.d/20-b.conf": "PermitRootLogin yes\n",
        "/etc/ssh/sshd_config.d/10-a.conf": "X11Forwarding no\n",
    }
    globbed = []

    def glob(pattern):
        globbed.append(pattern)
        return [p for p in files if p.startswith("/etc/ssh/sshd_config.d/")]

    config = parse_sshd_config("/etc/ssh/sshd_config", read_file=files.get, glob=glob)
    assert globbed == ["/etc/ssh/sshd_config.d/*.conf"]
    assert config.setting("permitrootlogin") == "yes"
    assert config.files[1:] == ["/etc/ssh/sshd_config.d/10-a.conf",
                                "/etc/ssh/sshd_config.d/20-b.conf"]


def test_an_include_glob_that_cannot_be_listed_is_a_gap():
    files = {"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\n"}
    config = parse_sshd_config("/etc/ssh/sshd_config", read_file=files.get)
    assert [(d.level, d.code) for d in config.diagnostics] == [("gap", "sshd-include")]


def test_unknown_options_and_defaults():
    config = parse_sshd_config("PermitRootLogn no\nPort 2200\n", path="/x/sshd_config")
    assert config.diagnostics[0].code == "sshd-unknown-option"
    assert config.diagnostics[0].location == Location("/x/sshd_config", 1)
    assert config.value("PermitRootLogin") == ("prohibit-password", None)
    assert config.listen_ports() == [2200]
    assert not config.effective


def test_include_recursion_is_bounded():
    files = {"/etc/ssh/loop.conf": "Include /etc/ssh/loop.conf\n"}
    config = parse_sshd_config("/etc/ssh/loop.conf", read_file=files.get)
    assert any("too deeply" in d.message for d in config.diagnostics)


def test_a_missing_main_file_is_an_error():
    config = parse_sshd_config("/nonexistent/sshd_config")
    assert config.error and config.diagnostics[0].level == "error"


def test_match_group_needs_the_groups_of_the_connection():
    text = "PermitRootLogin no\nMatch Group wheel,admins\n  PermitRootLogin yes\n"
    undecided = parse_sshd_config(text, path="c", match={"user": "alice"})
    assert undecided.setting("permitrootlogin") == "no" and undecided.conditional
    decided = parse_sshd_config(text, path="c", match={"user": "alice", "groups": ["admins"]})
    assert decided.setting("permitrootlogin") == "yes" and not decided.conditional
