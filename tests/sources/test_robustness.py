"""Hostile and broken input: each is a Diagnostic at its file (and line), never a crash, a
hang or a memory blow-up, and the rest of the tree is still audited.

Every test puts one good project beside the bad one and runs the whole engine over both.
"""

from __future__ import annotations

import errno
import os

import pytest

from labwarden.audit.compose import AuditOptions, audit

GOOD = "services:\n  web:\n    image: nginx:1.27\n    read_only: true\n"
CRASHES = {"rule-crashed", "load-failed", "worker-failed"}


def run(lw, bad_files: dict[str, str | bytes], **extra):
    """Audit a tree of a good project and a bad one; return (result, bad directory)."""
    root = lw.tree({"good/compose.yaml": GOOD}, name="tree")
    bad = root / "bad"
    bad.mkdir()
    lw.write(bad, bad_files)
    for name, make in extra.items():
        make(bad / name)
    result = audit([str(root)], AuditOptions(jobs=1))
    assert not [d for d in result.diagnostics if d.code in CRASHES], result.diagnostics
    return result, bad


def good_was_audited(result, expected_projects: int = 1) -> bool:
    """The good project was loaded and nothing was said about it."""
    return (result.projects == expected_projects
            and not [d for d in result.diagnostics
                     if d.location and os.sep + "good" + os.sep in d.location.path])


def diagnostic(result, code: str):
    found = [d for d in result.diagnostics if d.code == code]
    assert len(found) == 1, [str(d) for d in result.diagnostics]
    return found[0]


def billion_laughs(levels: int = 10) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"services:\n  web:\n    image: nginx\n    command: *a{levels - 1}\n")
    return "\n".join(lines)


def test_yaml_bomb_is_refused_before_it_expands(lw):
    import tracemalloc

    tracemalloc.start()
    try:
        result, bad = run(lw, {"compose.yaml": billion_laughs()})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = diagnostic(result, "yaml-bomb")
    assert error.level == "error" and error.location.path == str(bad / "compose.yaml")
    # 9**9 strings would need gigabytes; refusal keeps the whole audit small.
    assert peak < 200 * 1024 * 1024
    assert good_was_audited(result)


def test_bomb_through_merge_keys_is_refused(lw):
    anchor = "x-a: &a {" + ", ".join(f"k{i}: v" for i in range(500)) + "}\n"
    users = "x-b: [" + ", ".join(["{<<: *a}"] * 1000) + "]\n"
    result, bad = run(lw, {"compose.yaml": anchor + users + "services: {}\n"})
    assert diagnostic(result, "yaml-bomb").location.path == str(bad / "compose.yaml")
    assert good_was_audited(result)


def test_deep_flow_nesting_is_refused_before_libyaml_composes_it(lw):
    # libyaml's recursive composer overflows the C stack near 30,000 levels (a segfault,
    # not an exception): the depth check must refuse it before composing.
    result, bad = run(lw, {"compose.yaml": "services: " + "[" * 100_000 + "\n"})
    error = diagnostic(result, "too-deep")
    assert error.level == "error" and error.location.path == str(bad / "compose.yaml")
    assert error.location.line == 1
    assert good_was_audited(result)


def test_moderately_deep_flow_nesting_is_refused_by_our_limit(lw):
    # Deeper than our limit (200) but within libyaml's own (1,000 in libyaml >= 0.2.5).
    text = "services:\n  web:\n    image: x\n    command: " + "[" * 300 + "]" * 300 + "\n"
    result, bad = run(lw, {"compose.yaml": text})
    error = diagnostic(result, "too-deep")
    assert error.location.line == 4
    assert good_was_audited(result)


@pytest.mark.parametrize("text", [
    "\n".join(" " * depth + f"k{depth}:" for depth in range(2000)) + " end\n",  # mappings
    "x:\n" + "- " * 100_000 + "end\n",                                         # sequences
    "? " * 5_000 + "key\n",                                                    # complex keys
])
def test_deep_block_nesting_is_refused(lw, text):
    result, bad = run(lw, {"compose.yaml": text})
    assert diagnostic(result, "too-deep").location.path == str(bad / "compose.yaml")
    assert good_was_audited(result)


def test_aliases_nested_in_aliases_are_refused(lw):
    # Each level is shallow in the text, but every alias expands to a deeper tree: deep
    # enough, unchecked, to overflow Python's stack while building.
    lines = ["a0: &a0 " + "[" * 90 + "1" + "]" * 90]
    lines += [f"a{i}: &a{i} " + "[" * 90 + f"*a{i - 1}" + "]" * 90 for i in range(1, 30)]
    result, _ = run(lw, {"compose.yaml": "\n".join(lines) + "\n"})
    assert diagnostic(result, "too-deep").level == "error"
    assert good_was_audited(result)


def test_huge_file_is_refused_without_being_read(lw, monkeypatch):
    opened = []
    real_open = os.open

    def watching_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", watching_open)

    def sparse_50mb(path):
        with open(path, "wb") as handle:
            handle.write(GOOD.encode())
            handle.truncate(50 * 1024 * 1024)  # sparse: no disk, no time

    result, bad = run(lw, {}, **{"compose.yaml": sparse_50mb})
    error = diagnostic(result, "file-too-large")
    assert error.level == "error" and error.location.path == str(bad / "compose.yaml")
    assert str(bad / "compose.yaml") not in opened  # refused from its size alone
    assert good_was_audited(result)


def test_binary_file(lw):
    result, bad = run(lw, {"compose.yaml": b"services:\n  web:\n\x00\x01\x02\xff\n"})
    error = diagnostic(result, "binary-file")
    assert (error.level, error.location.path, error.location.line) == (
        "error", str(bad / "compose.yaml"), 3)
    assert good_was_audited(result)


def test_invalid_utf8_reports_the_line_of_the_bad_byte(lw):
    text = b"services:\n  web:\n    image: nginx\n    command: caf\xe9\n"
    result, bad = run(lw, {"compose.yaml": text})
    error = diagnostic(result, "invalid-utf8")
    assert (error.level, error.location.path, error.location.line) == (
        "error", str(bad / "compose.yaml"), 4)
    assert good_was_audited(result)


def test_yaml_syntax_error_has_its_line(lw):
    result, bad = run(lw, {"compose.yaml": "services:\n  web:\n    image: [unclosed\n"})
    error = diagnostic(result, "yaml-syntax")
    assert error.level == "error" and error.location.path == str(bad / "compose.yaml")
    assert error.location.line >= 3
    assert good_was_audited(result)


def test_fifo_is_not_opened(lw):
    # Opening a FIFO for reading blocks until a writer comes: it must be refused unread.
    result, bad = run(lw, {}, **{"compose.yaml": os.mkfifo})
    error = diagnostic(result, "not-a-file")
    assert error.level == "error" and error.location.path == str(bad / "compose.yaml")
    assert good_was_audited(result)


def test_dangling_symlink(lw):
    # Simulates a file that vanished or whose target is gone (ENOENT on open).
    result, bad = run(lw, {}, **{"compose.yaml": lambda p: os.symlink("nowhere.yaml", p)})
    error = diagnostic(result, "unreadable")
    assert error.level == "error" and error.location.path == str(bad / "compose.yaml")
    assert good_was_audited(result)


def test_file_symlink_loop(lw):
    # compose.yaml -> other.yaml -> compose.yaml: stat() fails with ELOOP.
    def loop(path):
        os.symlink("other.yaml", path)
        os.symlink("compose.yaml", path.parent / "other.yaml")

    result, bad = run(lw, {}, **{"compose.yaml": loop})
    error = diagnostic(result, "unreadable")
    assert error.location.path == str(bad / "compose.yaml")
    assert good_was_audited(result)


def test_directory_symlink_cycle(lw):
    def cycle(path):
        os.symlink("..", path)  # bad/up -> the tree root: everything again, forever

    result, bad = run(lw, {"compose.yaml": GOOD.replace("web", "other")}, **{"up": cycle})
    warning = diagnostic(result, "symlink-loop")
    assert warning.level == "warning" and warning.location.path == str(bad / "up")
    assert good_was_audited(result, expected_projects=2)  # each project once


def test_file_that_open_refuses(lw, monkeypatch):
    # Simulates `chmod 000` for a non-root user (tests run as root, who may read anything):
    # stat() works, open() fails with EACCES.
    real_open = os.open

    def refusing_open(path, *args, **kwargs):
        if os.path.basename(os.path.dirname(str(path))) == "bad":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    result, bad = run(lw, {"compose.yaml": GOOD})
    error = diagnostic(result, "unreadable")
    assert error.location.path == str(bad / "compose.yaml")
    assert "Permission denied" in error.message
    assert good_was_audited(result)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_chmod_000_as_a_normal_user(lw):
    result, bad = run(lw, {"compose.yaml": GOOD},
                      **{"x": lambda p: os.chmod(p.parent / "compose.yaml", 0)})
    assert diagnostic(result, "unreadable").location.path == str(bad / "compose.yaml")
    assert good_was_audited(result)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "---\n...\n"])
def test_empty_files(lw, text):
    result, bad = run(lw, {"compose.yaml": text})
    warning = diagnostic(result, "empty-file")
    assert warning.level == "warning" and warning.location.path == str(bad / "compose.yaml")
    assert good_was_audited(result)


@pytest.mark.parametrize("text", ["- web\n- db\n", "just a string\n", "42\n",
                                  "services: [web, db]\n"])
def test_top_level_not_a_mapping(lw, text):
    result, bad = run(lw, {"compose.yaml": text})
    errors = [d for d in result.errors if d.location.path == str(bad / "compose.yaml")]
    assert [d.code for d in errors] in (["not-a-mapping"], ["bad-services"])
    assert good_was_audited(result, expected_projects=result.projects)
    assert result.services == 1


def test_binary_dotenv(lw):
    result, bad = run(lw, {"compose.yaml": "services:\n  app:\n    image: app:${TAG:-1}\n",
                           ".env": b"TAG=2\n\x00\x00\x00"})
    error = diagnostic(result, "binary-file")
    assert error.location.path == str(bad / ".env") and error.location.line == 2
    assert good_was_audited(result, expected_projects=2)


def test_fifo_dotenv_and_device_env_file(lw):
    # A FIFO .env would block every reader; /dev/zero as env_file would never end.
    compose = "services:\n  app:\n    image: app\n    env_file: [/dev/zero]\n"
    result, bad = run(lw, {"compose.yaml": compose}, **{".env": os.mkfifo})
    paths = sorted(d.location.path for d in result.diagnostics if d.code == "not-a-file")
    assert paths == sorted([str(bad / ".env"), "/dev/zero"])
    assert good_was_audited(result, expected_projects=2)


def test_wrong_types_are_errors_not_crashes(lw):
    compose = """
        services:
          a:
            image: [not, a, string]
            ports: "8080:80"
            volumes: {not: a list}
            environment: 42
            env_file: {path: 7}
            extends: [x]
            profiles: debug
            tmpfs: 5
            command: {a: b}
          b: null
          c: just-a-string
          d:
            ports: [null, {target: null}, [], "", ":"]
            volumes: [null, 5, {type: bind}]
        networks: [a, b]
        include: 5
        """
    result, bad = run(lw, {"compose.yaml": compose})
    codes = {d.code for d in result.diagnostics if d.location and
             d.location.path == str(bad / "compose.yaml")}
    assert {"bad-type", "bad-service", "bad-extends", "bad-include"} <= codes
    assert good_was_audited(result, expected_projects=2)


def test_many_documents_are_refused(lw):
    # Merging documents is quadratic: a file of 100,000 tiny documents must not be merged.
    text = "".join(f"---\nx-k{i}: 1\n" for i in range(100_000))
    result, bad = run(lw, {"compose.yaml": text})
    assert diagnostic(result, "too-many-documents").location.path == str(bad / "compose.yaml")
    assert good_was_audited(result)


def test_include_fan_out_is_bounded(lw):
    # Each level includes the next one 20 times: 20**4 loads without a budget.
    files = {"compose.yaml": "include: [" + ", ".join(["l1.yaml"] * 20) + "]\n"
             "services:\n  app:\n    image: app\n"}
    for level in range(1, 4):
        files[f"l{level}.yaml"] = "include: [" + ", ".join([f"l{level + 1}.yaml"] * 20) + "]\n"
    files["l4.yaml"] = "services:\n  leaf:\n    image: leaf\n"
    result, bad = run(lw, files)
    error = diagnostic(result, "too-many-files")
    assert error.level == "error" and error.location.path.startswith(str(bad))
    assert good_was_audited(result, expected_projects=2)


def test_many_services_extending_one_file_read_it_once(lw, monkeypatch):
    from labwarden.sources.compose import loader

    reads = []
    real = loader.load_yaml_file
    monkeypatch.setattr(loader, "load_yaml_file", lambda path, *a, **k: reads.append(path) or
                        real(path, *a, **k))
    services = "".join(f"  s{i}:\n    extends: {{file: base.yaml, service: b}}\n"
                       for i in range(400))
    result, bad = run(lw, {"compose.yaml": "services:\n" + services,
                           "base.yaml": "services:\n  b:\n    image: b\n"})
    assert reads.count(str(bad / "base.yaml")) == 1
    assert result.services == 401 and result.errors == []
