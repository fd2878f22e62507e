"""Every real Compose file of the shared corpus loads, or says why it does not.

The corpus (1,076 files from six public repositories, listed in SOURCES.tsv) lives beside the
repository in ../shared/corpus/compose and is not shipped: without it the test is skipped.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from labwarden.sources.compose.discover import discover
from labwarden.sources.compose.loader import load_project

CORPUS = Path(__file__).parents[2].parent / "shared" / "corpus" / "compose"


def corpus_files() -> list[Path]:
    with open(CORPUS / "SOURCES.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [CORPUS / row["local_file"] for row in rows]


@pytest.mark.skipif(not (CORPUS / "SOURCES.tsv").is_file(),
                    reason=f"the Compose corpus ../shared/corpus/compose is absent ({CORPUS})")
def test_every_corpus_file_loads_or_has_an_error():
    files = corpus_files()
    assert len(files) > 1000
    unexplained = []
    loaded = 0
    for path in files:
        diagnostics = []
        specs = discover([str(path)], diagnostics)  # each file named explicitly
        assert len(specs) == 1, path
        project = load_project(specs[0], diagnostics)
        assert not [d for d in diagnostics if d.code == "load-failed"], (path, diagnostics)
        if project is not None and str(path) in project.files:
            loaded += 1
            continue
        if not any(d.level == "error" and d.location and d.location.path == str(path)
                   for d in diagnostics):
            unexplained.append(str(path.relative_to(CORPUS)))
    assert unexplained == []
    assert loaded > 0.99 * len(files)


@pytest.mark.skipif(not CORPUS.is_dir(),
                    reason=f"the Compose corpus ../shared/corpus/compose is absent ({CORPUS})")
def test_corpus_tree_discovery_finds_every_project_file():
    diagnostics = []
    specs = discover([str(CORPUS)], diagnostics)
    found = {os.path.abspath(f) for spec in specs for f in spec.files}
    noticed = {os.path.abspath(d.location.path) for d in diagnostics if d.location}
    missing = [str(p) for p in corpus_files() if str(p.absolute()) not in found | noticed]
    assert missing == []  # each file is loaded, or discovery says Compose would not load it
