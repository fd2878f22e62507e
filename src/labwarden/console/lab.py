"""The lab the console shows: the CLI's own `LabContext` (labwarden.yaml, inventory, the
operator's catalogue, the attestation book, the gate policy), one cached audit of the whole
lab, and the evaluations made from it.

Reads. An audit is what costs (hundreds of ms; seconds with live probes); evaluating a
service from it is tens of ms. So the console audits the lab at start, then again on its
schedule (`--every`) or when asked from a page, and evaluates each service from the latest
audit and the attestation file *as it is on disk now*: the evaluations are cached by the
audit's generation and the file's (mtime, size), so an `attest` from the CLI shows at the
next page load, and a change to a Compose file at the next audit.

Writes go through the CLI's modules (`writes.py`), decided on a fresh audit of the services
concerned, as the CLI decides them.

Re-audits run in a worker thread, one at a time (a request while one runs joins it), so
live probes of a big lab never run twice at once; each service's run of a re-audit is added
to the history (a watched score is the point of re-auditing), the start-up audit only looks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import threading
import time


def context_args(config: str, live: bool = False, ca_file: str | None = None,
                 timeout: float = 5.0, ssh_key: str | None = None,
                 check_default_credentials: bool = False,
                 today: dt.date | None = None) -> argparse.Namespace:
    """The options `commands.checklist.LabContext` reads, as the CLI's parser would set them."""
    return argparse.Namespace(config=config, live=live, ca_file=ca_file, timeout=timeout,
                              ssh_key=ssh_key,
                              check_default_credentials=check_default_credentials,
                              today=today)


class AuditStatus:
    __slots__ = ("running", "started", "finished", "error", "generation", "reason",
                 "duration_s")

    def __init__(self) -> None:
        self.running = False
        self.started: float | None = None
        self.finished: float | None = None
        self.error = ""
        self.generation = 0
        self.reason = ""
        self.duration_s = 0.0


class Lab:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._lock = threading.Lock()          # the cache and the status
        self._audit_lock = threading.Lock()    # one audit at a time
        self._evaluating = threading.Lock()    # one evaluation of the lab at a time
        self._result = None
        self._evaluations: dict = {}
        self._cache_key: tuple | None = None
        self.status = AuditStatus()
        self.context = self._new_context()

    # --- the CLI's context ---------------------------------------------------------------

    def _new_context(self):
        from labwarden.commands.checklist import LabContext

        return LabContext(self.args)

    @property
    def inventory(self):
        return self.context.inventory

    @property
    def catalog(self):
        return self.context.catalog

    @property
    def today(self) -> dt.date:
        return self.args.today or dt.date.today()

    @property
    def state_dir(self) -> str:
        """Where the console keeps its users and audit log: the history database's folder."""
        return os.path.dirname(os.path.abspath(self.inventory.history_path))

    def fresh_context(self):
        """A context for a write: labwarden.yaml re-read, today's date, as a CLI run has."""
        return self._new_context()

    # --- the audit -----------------------------------------------------------------------

    def audit_now(self, reason: str = "start", save: bool = False) -> None:
        """Audit the whole lab (blocking). A call while another runs waits for it and does
        not audit again."""
        generation = self.status.generation
        with self._audit_lock:
            if self.status.generation != generation and reason != "start":
                return                          # someone audited while we waited
            with self._lock:
                self.status.running, self.status.started = True, time.time()
                self.status.reason, self.status.error = reason, ""
            try:
                context = self._new_context()
                services = list(context.inventory.services.values())
                result = context.audit(services)
                if save:
                    book = context.book()
                    for service in services:
                        context.evaluate_from(service, result, book, store=True)
            except Exception as exc:            # shown on the page; the old result stays
                with self._lock:
                    self.status.running, self.status.finished = False, time.time()
                    self.status.error = _one_line(exc)
                return
            with self._lock:
                self.context = context
                self._result = result
                self._evaluations, self._cache_key = {}, None
                self.status.running, self.status.finished = False, time.time()
                self.status.duration_s = self.status.finished - (self.status.started or 0)
                self.status.generation += 1

    def start_audit(self, reason: str, save: bool = True) -> bool:
        """Audit in the background; False when one is already running (it is joined)."""
        if self.status.running:
            return False
        thread = threading.Thread(target=self.audit_now, args=(reason, save),
                                  name="labwarden-audit", daemon=True)
        thread.start()
        return True

    @property
    def result(self):
        if self._result is None:
            self.audit_now("start")
        return self._result

    # --- evaluations ---------------------------------------------------------------------

    def _book_key(self) -> tuple:
        try:
            info = os.stat(self.inventory.attestations_path)
            return (info.st_mtime_ns, info.st_size, info.st_ino)
        except FileNotFoundError:
            return (0, 0, 0)

    def evaluations(self) -> dict:
        """Every service's evaluation from the latest audit and the attestation file now."""
        result = self.result
        key = (self.status.generation, self._book_key(), self.today)
        with self._lock:
            if key == self._cache_key:
                return self._evaluations
        with self._evaluating:        # twenty requests at a cold cache: one computes it
            with self._lock:
                if key == self._cache_key:
                    return self._evaluations
            context = self.context
            book = context.book()
            evaluations = {name: context.evaluate_from(service, result, book)
                           for name, service in context.inventory.services.items()}
            with self._lock:
                self._evaluations, self._cache_key = evaluations, key
            return evaluations

    def evaluation(self, name: str):
        from labwarden.config import ConfigError

        found = self.evaluations().get(name)
        if found is None:
            raise ConfigError(f"no service {name!r} in the inventory")
        return found

    def roadmap(self):
        """The remediation roadmap of the latest audit (built once per audit: it loads the
        Compose projects again for their dependencies)."""
        from labwarden.commands.remediation import build_roadmap

        result, generation = self.result, self.status.generation
        cached = getattr(self, "_roadmap", None)
        if cached is not None and cached[0] == generation:
            return cached[1]
        roadmap = build_roadmap([self.inventory.base_dir], self.context.config, result)
        self._roadmap = (generation, roadmap)
        return roadmap

    def decide(self, evaluation):
        return self.context.decide(evaluation)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
