"""What an audit looked at, so that a waiver matching nothing is called unused only when the
audit could have matched it.

A waiver in labwarden.yaml is written for the whole lab. An audit of one project, of `-f`
files, of the files a commit changed (the pre-commit hook) or of scripts sees part of it:
a waiver for another project, or for a rule that did not run, matches nothing there and is
not stale for it. Only a waiver about something this audit did examine (its service glob
matches an audited service, its path glob an audited file, its host a probed target), or
any waiver of a rule that ran when the audit covered the whole lab, is reported unused.
"""

from __future__ import annotations

import fnmatch
import os


class AuditScope:
    __slots__ = ("rule_ids", "whole", "subjects", "files", "live", "_names")

    def __init__(self, rule_ids: set[str], *, whole: bool,
                 subjects: set[str] | frozenset[str] = frozenset(),
                 files: set[str] | frozenset[str] = frozenset(), live: bool = False):
        self.rule_ids = rule_ids          # the rules that ran
        self.whole = whole                # the audit covered everything the config is about
        self.subjects = subjects          # `project`, `project/service`, assets as written
        self.files = files                # every file read, as locations name them
        self.live = live                  # targets were probed (host waivers can match)
        self._names: set[str] | None = None

    def covers(self, waiver) -> bool:
        """Whether this audit could have matched `waiver`: if it matched nothing, it is
        unused."""
        if not self._rule_ran(waiver.rule.strip()):
            return False
        if waiver.host is not None or waiver.host_group is not None:
            return self.live
        if self.whole:
            return True
        if waiver.service:
            if any(fnmatch.fnmatchcase(s, waiver.service) for s in self.subjects):
                return True
            # `paperless/old-worker` in an audit of paperless: a service since removed from
            # an audited project is as stale as can be.
            project, slash, _ = waiver.service.partition("/")
            return bool(slash) and any(fnmatch.fnmatchcase(s, project) for s in self.subjects
                                       if "/" not in s)
        if waiver.path:
            return any(fnmatch.fnmatchcase(f, waiver.path)
                       or fnmatch.fnmatchcase(f, "*/" + waiver.path) for f in self.files)
        return False          # any finding of the rule, anywhere: a part cannot tell

    def _rule_ran(self, ref: str) -> bool:
        if ref == "*" or ref.upper() in self.rule_ids:
            return True
        if self._names is None:
            from labwarden.rules import registry

            # Rules that ran are registered already: no module is loaded here.
            self._names = {rule.name for rule in map(registry.get, self.rule_ids) if rule}
        return ref.lower() in self._names


def covers_config_root(paths: list[str], compose_files: list[str], config_path: str | None
                       ) -> bool:
    """Whether audited `paths` include the directory of labwarden.yaml (or a parent of it):
    the whole lab the waivers are written for. `-f` files are always a part."""
    if compose_files or not config_path:
        return False
    root = os.path.dirname(os.path.abspath(config_path))
    for path in paths:
        if not os.path.isdir(path):
            continue
        folder = os.path.abspath(path)
        if root == folder or root.startswith(folder.rstrip(os.sep) + os.sep):
            return True
    return False
