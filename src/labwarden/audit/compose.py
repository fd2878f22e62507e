"""Run sources → rules → suppressions and waivers → an `AuditResult`.

Large trees are split across processes (fork): the projects are cut into small chunks, in
order, and each process — the parent too — takes the next chunk from a shared queue until
none is left, so that none waits for another at the end. Each chunk is loaded and judged by
its per-project rules, its findings marked by inline suppressions; a worker sends each
chunk's result back as plain tuples as soon as it is done, and the parent reads them between
its own chunks. The parent then merges the chunks in their order — the same result whatever
the number of processes — and runs the rules that compare projects on a small inventory.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import struct
import time

from labwarden._fork import PIPE_SIZE, die_with_parent, reap, widen_pipe
from labwarden._fork import prepare as prepare_fork
from labwarden._record import Record
from labwarden.audit.runner import RuleRunner, conclude, redact_diagnostics, sort_key
from labwarden.config import Config
from labwarden.model import (AuditResult, Diagnostic, Finding, Location, Rule,
                             fingerprint_sha256)
from labwarden.redact import scrub, url_password
from labwarden.rules import registry
from labwarden.sources._read import DecodeError, decode_text, read_regular
from labwarden.sources.compose.discover import ProjectSpec, discover
from labwarden.sources.compose.loader import LoadOptions, load_project
from labwarden.sources.compose.model import ComposeProject, ComposeTree, ContainerRef, PortRef
from labwarden.sources.envfile import EnvFile
from labwarden.sources.proxy.workload import ProxySpec, Workload, proxy_kind, spec_of, workload_of
from labwarden.sources.yamlfile import MAX_FILE_BYTES, Map
from labwarden.suppress import (
    inline_markers,
    mark_suppressed,
    marker_diagnostics,
    merge_markers,
)

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:   # the live modules load only when a target is probed
    from collections.abc import Callable
    from typing import Any

    from labwarden.sources.live.collect import ProbeOptions

PARALLEL_MIN_PROJECTS = 48
# A chunk is a few projects: small enough that the processes finish within a chunk of each
# other, large enough that sending its result costs little next to auditing it.
CHUNK_MAX = 8
CHUNKS_PER_PROCESS = 8          # at least, for smaller trees
MAX_CHUNKS = 1024               # the queue holds them all: 4 bytes each, under PIPE_BUF


class AuditOptions(Record):
    __slots__ = ("load", "config", "jobs", "today", "compose_files", "targets", "probe",
                 "keep_facts", "scan_reports", "run_scan", "prepare", "left_for_exit")
    stage = "compose"                # which part of `audit.run` reads these (not a field)
    load: LoadOptions
    config: Config
    jobs: int | None                 # None: one per core for large trees, else serial
    today: dt.date | None
    compose_files: list[str]         # `-f A -f B`: one project
    targets: list                    # live targets (sources.live.targets)
    probe: ProbeOptions | None       # how to probe them
    # Keep every fact the rules examined in the result (AuditResult.facts), in one process:
    # the checklist answers items from what was examined, not only from what was found.
    keep_facts: bool
    scan_reports: list[str]          # --scan-report: Trivy/Grype JSON
    run_scan: bool                   # --scan: run trivy image on each image
    # The report's own work on the findings and diagnostics (report.preparer), done while
    # this process would otherwise wait for a stage running beside it.
    prepare: Callable[[list[Finding], list[Diagnostic]], None] | None
    # A process that leaves without tearing down (the command line) has the audit's working
    # state put here rather than freed as the audit returns: some 4 ms for a large tree, on
    # the tail of the run where nothing else is done meanwhile.
    left_for_exit: list | None

    def __init__(self, load: LoadOptions | None = None, config: Config | None = None,
                 jobs: int | None = None, today: dt.date | None = None,
                 compose_files: list[str] | None = None, targets: list | None = None,
                 probe: ProbeOptions | None = None, keep_facts: bool = False,
                 scan_reports: list[str] | None = None, run_scan: bool = False,
                 prepare: Callable[[list[Finding], list[Diagnostic]], None] | None = None,
                 left_for_exit: list | None = None):
        self.load = LoadOptions() if load is None else load
        self.config = Config() if config is None else config
        self.jobs = jobs
        self.today = today
        self.compose_files = [] if compose_files is None else compose_files
        self.targets = [] if targets is None else targets
        self.probe = probe
        self.keep_facts = keep_facts
        self.scan_reports = [] if scan_reports is None else scan_reports
        self.run_scan = run_scan
        self.prepare = prepare
        self.left_for_exit = left_for_exit


class _Partial(Record):
    """What auditing a chunk of the projects found (a worker sends it to the parent)."""

    __slots__ = ("findings", "diagnostics", "containers", "compose_files", "env_findings",
                 "projects", "services",
                 "project_files", "included", "markers", "rule_ids", "secrets", "kept",
                 "stack", "indexes", "workloads", "proxies", "loaded", "ports", "scrubbed")

    def __init__(self, findings: list[Finding] | None = None,
                 diagnostics: list[Diagnostic] | None = None,
                 containers: list[ContainerRef] | None = None,
                 projects: int = 0, services: int = 0,
                 project_files: dict[str, str] | None = None,  # asset -> main file
                 included: set[str] | None = None,             # files pulled by `include`
                 markers: dict[str, dict | None] | None = None):  # file -> inline markers
        self.findings = [] if findings is None else findings
        self.diagnostics = [] if diagnostics is None else diagnostics
        self.containers = [] if containers is None else containers
        # The Compose files read; the findings on each env file, by its path: two chunks
        # may both read a file, which the parent counts, and judges, once.
        self.compose_files: set[str] = set()
        self.env_findings: dict[str, list[Finding]] = {}
        self.projects = projects
        self.services = services
        self.project_files = {} if project_files is None else project_files
        self.included = set() if included is None else included
        # Files a project loaded through COMPOSE_FILE: discovery called them "not loaded".
        self.loaded: set[str] = set()
        self.ports: list[PortRef] = []               # published host ports, for the tree
        self.markers = {} if markers is None else markers
        self.rule_ids: set[str] = set()              # the rules that ran
        self.kept: list[tuple[str, str, object]] = []  # (origin, asset, fact): keep_facts
        # Every service as a reverse proxy's upstream may name it, and the services that
        # run a proxy: the parent reads the proxies once it has the whole tree.
        self.workloads: list[Workload] = []
        self.proxies: list[ProxySpec] = []
        # The projects' secret values: the parent redacts them from what it reports too.
        self.secrets: set[str] = set()
        # The monitoring stack's services and, with an inventory, every project's names
        # (sources/monitoring/stack.py): the parent joins them with the inventory.
        self.stack: list[tuple] = []
        self.indexes: list[tuple] = []
        # Whether `scrub` has been over every diagnostic here, as conclude() would go
        # (`_audit_specs` does it, in the process that audited the chunk).
        self.scrubbed = False


def _container_refs(project: ComposeProject) -> list[ContainerRef]:
    refs = []
    for service in project.services.values():
        name = service.get("container_name")
        if name is not None:
            refs.append(ContainerRef(str(name), True, service.loc("container_name"),
                                     service.asset))
    return refs


def _port_refs(project: ComposeProject) -> list[PortRef]:
    """The host ports the project's services publish (ephemeral ones need no number)."""
    refs = []
    for service in project.services.values():
        if not service.ports:
            continue
        mode = str(service.raw.get("network_mode") or "")
        if mode in ("host", "none") or mode.startswith(("service:", "container:")):
            continue            # Docker ignores `ports:` there
        for port in service.ports:
            numbers = port.published_ports
            if not numbers:
                continue
            ip = "" if port.host_ip in (None, "", "*") else port.host_ip.strip("[]")
            refs.append(PortRef(ip, numbers[0], numbers[-1], port.protocol.lower(),
                                port.location, service.asset, service.profiles, port.spec))
    return refs


def _audit_specs(specs: list[ProjectSpec], options: AuditOptions) -> _Partial:
    runner = RuleRunner(options.config)
    partial = _Partial()
    findings: list[Finding] = []
    # Every file read, with its inline suppression markers (None: it has none). The markers
    # are taken as each project is loaded, so no file's text outlives its project.
    markers = partial.markers
    # Each env file once, by where it is: projects that share one (`env_file: ../app.env`)
    # name it each from their own directory.
    env_files: dict[str, tuple[EnvFile, str]] = {}
    scrubbed: set[int] = set()      # the diagnostics a project's redactor has been over
    for spec in specs:
        texts: dict[str, str] = {}
        loaded_from = len(partial.diagnostics)
        project = load_project(spec, partial.diagnostics, options.load, texts)
        for path, text in texts.items():
            if path not in markers:
                markers[path] = inline_markers(path, text) or None
        del texts
        if project is None:
            continue
        partial.projects += 1
        partial.services += len(project.services)
        partial.project_files[project.asset] = os.path.abspath(project.files[0])
        if not spec.explicit and spec.files != project.files:    # COMPOSE_FILE in .env
            partial.loaded.update(os.path.abspath(f) for f in project.files)
        partial.included.update(project.included_files)
        secrets = _project_secrets(project)
        partial.secrets |= secrets
        runner.use_secrets(secrets)
        redacted = redact_diagnostics(partial.diagnostics[loaded_from:], runner.redact)
        partial.diagnostics[loaded_from:] = redacted
        scrubbed.update(map(id, redacted))  # every redactor scrubs: not again below
        runner.run(project, project.asset, findings, partial.diagnostics)
        origin = os.path.abspath(spec.directory)
        for service in project.services.values():
            runner.run(service, service.asset, findings, partial.diagnostics)
            workload = workload_of(service, origin)
            partial.workloads.append(workload)
            kind = proxy_kind(service.image)
            if kind is not None:
                partial.proxies.append(spec_of(kind, service, workload))
        for env in ([project.dotenv] if project.dotenv else []) + list(project.env_files.values()):
            env_files.setdefault(os.path.abspath(env.path), (env, project.asset))
        partial.containers.extend(_container_refs(project))
        partial.ports.extend(_port_refs(project))
        _monitoring_inputs(project, partial, options)
        if options.keep_facts:
            partial.kept.append((origin, project.asset, project))
            partial.kept.extend((origin, service.asset, service)
                                for service in project.services.values())
            partial.kept.extend(
                (origin, f"{project.asset}:{os.path.basename(env.path)}", env)
                for env in ([project.dotenv] if project.dotenv else [])
                + list(project.env_files.values()))
            continue
        # Each service points back at its project: without this cycle the project and its
        # parsed files are freed here, by reference counting, not by the cyclic collector.
        project.services.clear()
    partial.compose_files = set(markers)
    env_findings = partial.env_findings
    for key in env_files:
        env_findings[key] = []
    if env_files and runner.rules(EnvFile):
        from labwarden.sources.git import tracked

        status = tracked([env.path for env, _ in env_files.values()], _git_listings)
        for key, (env, asset) in env_files.items():
            env.tracked_by_git = status.get(env.path)
            runner.use_secrets(_secret_values(env.values().items()))
            runner.run(env, f"{asset}:{os.path.basename(env.path)}", env_findings[key],
                       partial.diagnostics)
    for env, _ in env_files.values():
        path = env.path
        if path not in markers and env.readable:  # a regular file, already read once
            markers[path] = inline_markers(path, _read_text(path)) or None
    # What is wrong with a marker is said once every chunk, and the tree's rules, offered
    # their findings to it (`_audit`).
    mark_suppressed(findings, markers)
    for found in env_findings.values():
        mark_suppressed(found, markers)
    # Sorted here, in each worker, as number() sorts them all (stably): then it only merges.
    findings.sort(key=sort_key)
    # conclude()'s pass over the diagnostics, done here, beside the other workers, rather
    # than in the parent after them all: it skips those of a scrubbed chunk.
    partial.diagnostics = redact_diagnostics(partial.diagnostics, scrub, scrubbed)
    partial.scrubbed = True
    partial.findings = findings
    partial.rule_ids = runner.ids
    return partial


def _monitoring_inputs(project: ComposeProject, partial: _Partial,
                       options: AuditOptions) -> None:
    from labwarden.sources.monitoring import stack

    partial.stack.extend(stack.components(project))
    if options.config.raw.get("services"):     # only an inventory's services are judged
        partial.indexes.append(stack.index(project))


def _project_secrets(project: ComposeProject) -> set[str]:
    """The values a project gives its secret-named variables, in its `.env`, its
    `environment:` and `env_file`s, and the passwords of URLs in any of them.

    A password that is also the name of the project, a service or a container (`nextcloud`
    for Nextcloud's database) is left out: every report shows those names anyway, and
    redacting them there would garble the report without hiding anything.
    """
    found: set[str] = set()
    for env in ([project.dotenv] if project.dotenv else []) + list(project.env_files.values()):
        _secret_values(env.values().items(), found)
    public = {project.name.lower(), project.compose_name.lower()}
    for service in project.services.values():
        _secret_values([(e.name, e.value) for e in service.environment.values()], found)
        raw = service.raw
        labels = raw.get("labels")
        if isinstance(labels, Map):             # secret-named labels, URLs with credentials
            _secret_values(labels.items(), found, last_word=True)
        container = raw.get("container_name")
        public.add(service.name.lower())
        public.add("" if container is None else str(container).lower())
    return {v for v in found if v.lower() not in public}


def _secret_values(pairs, found: set[str] | None = None, last_word: bool = False) -> set[str]:
    """The secret values of (name, value) pairs, added to `found`; `last_word`: a name is
    judged by what follows its last dot (a label's `app.db.password`)."""
    from labwarden.knowledge.secrets import is_secret_name, url_token

    if found is None:
        found = set()
    for name, value in pairs:
        if not value or not isinstance(value, str):
            continue
        if is_secret_name(str(name).rsplit(".", 1)[-1] if last_word else name):
            found.add(value)
        if "://" in value:
            password = url_password(value)
            if password:
                found.add(password)
            else:
                token = url_token(value)        # discord://TOKEN@…, webhook URLs
                if token:
                    found.add(token[1])
    return found


def _read_text(path: str) -> str:
    """A file's text for suppression comments, decoded as its source decoded it; only a
    regular file, never a FIFO or device."""
    try:
        return decode_text(read_regular(path, MAX_FILE_BYTES))
    except (OSError, DecodeError):
        return ""


def _drop_included(partials: list[_Partial], findings: list[Finding]) -> set[str]:
    """A project that another project pulls in with `include` was audited as part of it; its
    own run would report the same services twice. Returns the projects dropped."""
    included = set().union(*(p.included for p in partials))
    if not included:
        return set()
    dropped = {asset for p in partials for asset, main in p.project_files.items()
               if main in included}
    if dropped:
        findings[:] = [f for f in findings if not _in_projects(f.asset, dropped)]
    return dropped


def _in_projects(asset: str, projects: set[str]) -> bool:
    """Whether `asset` is one of `projects` or under one (`compose:p/web`, `compose:p:.env`):
    each of its prefixes is looked up, rather than each project tried on each finding."""
    if asset in projects:
        return True
    start = asset.find(":") + 1
    return any(asset[:i] in projects for i in range(start, len(asset)) if asset[i] in "/:")


def _pack(f: Finding) -> tuple:
    """A finding as a tuple of Finding's arguments, in order, its rule by ID; then its
    fingerprint, hashed in the worker while the parent is busy with its own share."""
    return (f.rule.id, f.severity, f.message, f.location, f.asset, f.resource, f.evidence,
            f.fix, f.suppression, f.id, f.checklist, f.fingerprint)


def _unpack(row: tuple, rules: dict[str, Rule] | None = None) -> Finding:
    """`rules`: the rules by ID that earlier rows of the same batch named, filled here (the
    registry's look-up, case-insensitive and by name too, costs a fifth of an unpacking)."""
    rule = None if rules is None else rules.get(row[0])
    if rule is None:
        rule = registry.get(row[0])
        assert rule is not None, row[0]     # a worker runs the same registry
        if rules is not None:
            rules[row[0]] = rule
    finding = Finding(rule, *row[1:-1])
    finding.hashed(row[-1])
    return finding


def _send(partial: _Partial) -> bytes:
    """A worker's result as bytes: findings and diagnostics as plain tuples (a rule travels
    as its ID), the cheapest objects to pickle; Locations, wherever they are, too."""
    import io
    import pickle  # only with worker processes

    # On the wire only, the lists hold tuples; `_receive` turns them back into records.
    partial.findings = [_pack(f) for f in partial.findings]  # type: ignore[misc]
    partial.env_findings = {path: [_pack(f) for f in found]  # type: ignore[misc]
                            for path, found in partial.env_findings.items()}
    partial.diagnostics = [_diagnostic_row(d)  # type: ignore[misc]
                           for d in partial.diagnostics]
    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _ON_THE_WIRE
    pickler.dump(partial)
    return out.getvalue()


def _location_on_the_wire(location: Location) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """A Location pickled as a plain tuple that tuple.__new__ turns back into one, both in
    C: half the cost of its namedtuple's own way (a Python __getnewargs__ to pickle it, a
    Python __new__ to unpickle it), for the tens of thousands a worker sends."""
    return _new_tuple, (Location, tuple(location))


_new_tuple = tuple.__new__
# How _send pickles the records it sends most of, looked up before their __reduce_ex__.
_ON_THE_WIRE: dict[type, Callable[[Any], tuple[Callable[..., Any], tuple[Any, ...]]]] = {
    Location: _location_on_the_wire}


def _receive(data: bytes) -> _Partial:
    import pickle

    partial = pickle.loads(data)
    rules: dict[str, Rule] = {}
    partial.findings = [_unpack(row, rules) for row in partial.findings]
    partial.env_findings = {path: [_unpack(row, rules) for row in rows]
                            for path, rows in partial.env_findings.items()}
    partial.diagnostics = [Diagnostic(*row) for row in partial.diagnostics]
    return partial


def _chunks(specs: list[ProjectSpec], jobs: int) -> list[list[ProjectSpec]]:
    """The projects cut into chunks, in order: at most CHUNK_MAX projects each, at least
    CHUNKS_PER_PROCESS chunks per process where there are projects enough."""
    size = max(1, min(CHUNK_MAX, len(specs) // (jobs * CHUNKS_PER_PROCESS)))
    size = max(size, -(-len(specs) // MAX_CHUNKS))
    return [specs[i:i + size] for i in range(0, len(specs), size)]


_INDEX = struct.Struct("<I")            # a chunk's number, in the queue
_FRAME = struct.Struct("<IQ")           # a chunk's number and its result's size, on the wire


def _queue(count: int) -> int:
    """A pipe holding the numbers 0…count-1, closed for writing: each process reads the
    next number when it is free, and an empty read once every chunk is taken. A read of 4
    bytes takes one number whole: the kernel serialises readers of a pipe."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"".join(_INDEX.pack(i) for i in range(count)))  # < PIPE_BUF: whole
    os.close(write_end)
    return read_end


def _take(queue: int) -> int | None:
    data = os.read(queue, _INDEX.size)
    return _INDEX.unpack(data)[0] if data else None


def _work(chunks: list[list[ProjectSpec]], queue: int, options: AuditOptions, out) -> None:
    """A worker: audit the chunks it takes from the queue, and send each result as soon as
    it is done."""
    while (index := _take(queue)) is not None:
        try:
            payload = _send(_audit_specs(chunks[index], options))
        except BaseException as exc:  # noqa: BLE001 - the parent must hear of any failure
            payload = _send(_Partial(diagnostics=[Diagnostic(
                "error", "worker-failed", f"a worker failed: {type(exc).__name__}; "
                f"{len(chunks[index])} projects were not audited")]))
        out.write(_FRAME.pack(index, len(payload)))
        out.write(payload)
        out.flush()


class _Worker:
    """The parent's end of a worker: its results, read as they come."""

    def __init__(self, pid: int, fd: int):
        self.pid = pid
        self.fd = fd
        self.pending = bytearray()
        self.open = True
        os.set_blocking(fd, False)

    def read(self, results: dict[int, _Partial], wait: bool = False) -> list[_Partial]:
        """Take what the worker has sent so far (all of it, up to its end, if `wait`);
        returns the chunks' results it added to `results`."""
        if wait and self.open:
            os.set_blocking(self.fd, True)
        while self.open:
            try:
                data = os.read(self.fd, PIPE_SIZE)
            except BlockingIOError:
                break
            if not data:
                self.open = False
                os.close(self.fd)
                break
            self.pending += data
        pending = self.pending
        start = 0
        received = []
        while len(pending) - start >= _FRAME.size:
            index, size = _FRAME.unpack_from(pending, start)
            end = start + _FRAME.size + size
            if end > len(pending):
                break
            try:
                results[index] = _receive(bytes(pending[start + _FRAME.size:end]))
                received.append(results[index])
            except Exception:  # noqa: BLE001 - a garbled result: the chunk is reported
                pass
            start = end
        del pending[:start]
        return received


def _warm_up(options: AuditOptions) -> None:
    """Before forking, what every process would otherwise do first, each on its own: import
    the YAML parser and the rule modules for the facts of a Compose project. Done once, it
    is shared by the forks, and costs less than in two processes that slow each other."""
    fingerprint_sha256()        # the fingerprints' hash, imported once for every process
    prepare_fork()              # what each forked process needs to die with its parent

    from labwarden.sources.compose.model import Service
    from labwarden.sources.yamlfile import parse_yaml

    parse_yaml("services: {}\n", "<warm-up>")
    runner = RuleRunner(options.config)
    for kind in (ComposeProject, Service, EnvFile):
        runner.rules(kind)


def _load_proxy_stage() -> None:
    """Import, while the workers work, what the proxy stage after them imports: its readers
    (shared with the process that runs it beside the tree rules) and its rules, whose
    findings this process receives."""
    from labwarden.sources.proxy import discover  # noqa: F401
    from labwarden.sources.registry import get as source

    registry.load(source("proxy").rules)


def _run_parallel(specs: list[ProjectSpec], options: AuditOptions, jobs: int) -> list[_Partial]:
    chunks = _chunks(specs, jobs)
    _warm_up(options)
    queue = _queue(len(chunks))
    workers: list[_Worker] = []
    parent = os.getpid()
    for _ in range(jobs - 1):
        read_end, write_end = os.pipe()
        widen_pipe(write_end)   # the parent reads between its own chunks
        pid = os.fork()
        if pid == 0:  # a worker: audit chunks, send their results, leave without cleanup
            die_with_parent(parent)
            os.close(read_end)
            for worker in workers:
                os.close(worker.fd)
            try:
                with os.fdopen(write_end, "wb") as out:
                    _work(chunks, queue, options, out)
            finally:
                os._exit(0)
        os.close(write_end)
        workers.append(_Worker(pid, read_end))
    results: dict[int, _Partial] = {}
    proxies_ready = False
    while (index := _take(queue)) is not None:
        partial = results[index] = _audit_specs(chunks[index], options)
        # Hash what the reports will ask of these findings (the property caches it) while
        # the workers are busy too; theirs come hashed.
        for finding in partial.findings:
            finding.fingerprint  # noqa: B018
        arrived = [partial]
        for worker in workers:
            arrived += worker.read(results)
        if not proxies_ready and any(p.proxies for p in arrived):
            _load_proxy_stage()     # the tree runs a proxy: its stage will need these
            proxies_ready = True
    os.close(queue)
    for worker in workers:
        worker.read(results, wait=True)
        reap(worker.pid)                # its results are all here: no need to see it end
    lost = [i for i in range(len(chunks)) if i not in results]
    if lost:
        count = sum(len(chunks[i]) for i in lost)
        results[lost[0]] = _Partial(diagnostics=[Diagnostic(
            "error", "worker-failed", f"a worker process died; {count} projects were not "
            "audited")])
    return [results[i] for i in sorted(results)]


def _jobs(options: AuditOptions, count: int) -> int:
    if options.keep_facts:              # facts stay in the process that loaded them
        return 1
    if options.jobs is not None:
        return max(1, min(options.jobs, count or 1))
    if count < PARALLEL_MIN_PROJECTS or not hasattr(os, "fork"):
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def audit(paths: list[str], options: AuditOptions | None = None) -> AuditResult:
    # What an audit allocates is freed by reference counting (see `_audit_specs`), so the
    # cyclic collector would only re-scan the growing heap of findings, over and over: a
    # tenth of a large run. It is paused, here and in the workers forked from here.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _audit(paths, options or AuditOptions())
    finally:
        if enabled:
            _age_young_objects()
            gc.enable()


def _age_young_objects() -> None:
    """Move every object the collector tracks to its oldest generation.

    With collection paused, all that the audit keeps (findings, locations…: no cycles)
    is still in the youngest generation, and the first collection after it would scan
    all of it, some ten milliseconds. freeze() then unfreeze() moves everything to the
    oldest generation, which only a full collection scans, as it would after surviving
    a few collections; garbage there is still collected. Objects an application froze on
    purpose are left alone (unfreeze() would release them too).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def _diagnostic_order(diagnostic: Diagnostic) -> tuple:
    where = diagnostic.location
    return ("", 0) if where is None else (where.path, where.line)


# What git tracks in each repository, read once per audit (and per worker): every chunk
# asks about its own env files.
_git_listings: dict[str, set[str] | None] = {}


def _audit(paths: list[str], options: AuditOptions) -> AuditResult:
    started = time.perf_counter()
    _git_listings.clear()       # a long-running process (the console) audits again later
    if any(w.host_group is not None for w in options.config.waivers):
        from labwarden.audit.host_groups import resolve_waivers

        resolve_waivers(options.config)      # before any work: an unknown group is an error
    diagnostics: list[Diagnostic] = []
    directories: set[str] = set()
    specs = discover(paths, diagnostics, directories=directories)
    if options.compose_files:
        first = options.compose_files[0]
        directory = os.path.dirname(first) or "."
        specs.append(ProjectSpec(directory, list(options.compose_files),
                                 os.path.basename(os.path.abspath(directory)), explicit=True))
    jobs = _jobs(options, len(specs))
    partials = _run_parallel(specs, options, jobs) if jobs > 1 else \
        [_audit_specs(specs, options)]
    findings: list[Finding] = []
    containers: list[ContainerRef] = []
    ports: list[PortRef] = []
    result = AuditResult(findings=findings, diagnostics=diagnostics,
                         targets=_audited(paths, options),
                         started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    compose_files: set[str] = set()
    env_files: set[str] = set()
    for partial in partials:
        findings.extend(partial.findings)
        for path, found in partial.env_findings.items():
            if path not in env_files:         # judged by an earlier chunk too: once
                env_files.add(path)
                findings.extend(found)
        diagnostics.extend(partial.diagnostics)
        containers.extend(partial.containers)
        ports.extend(partial.ports)
        compose_files |= partial.compose_files
        result.projects += partial.projects
        result.services += partial.services
        result.facts.extend(partial.kept)
    result.files_scanned = len(compose_files) + len(env_files)
    dropped = _drop_included(partials, findings)
    if dropped:
        ports = [p for p in ports if not _in_projects(p.asset, dropped)]
    ports.sort(key=lambda p: (p.location.path, p.location.line, p.asset))
    loaded = set().union(*(p.loaded for p in partials))
    if loaded:
        diagnostics[:] = [d for d in diagnostics if not (
            d.code == "not-loaded-by-compose" and d.location is not None
            and os.path.abspath(d.location.path) in loaded)]
    result.projects -= len(dropped)
    # The same report whatever the number of workers: order what the workers merged.
    containers.sort(key=lambda c: (c.location.path, c.location.line, c.asset))
    runner = RuleRunner(options.config)
    # Rules over the whole tree, and the live targets, may quote any project's values.
    runner.use_secrets(set().union(*(p.secrets for p in partials)))
    # The workers took the inline markers of the files they read, and marked their
    # findings; the tree's findings, and the routes of the proxy stage made from labels,
    # are offered to them too before any marker is called unused (a marker may suppress a
    # clash of two projects' ports).
    markers = merge_markers([partial.markers for partial in partials])
    tree = ComposeTree(containers, root=_common_root(paths, directories), ports=ports)
    proxies = _proxy_stage(partials, dropped, options)
    stage_rules: set[str] = set()       # the rules the stages ran in another process
    judged_monitoring = None
    # The diagnostics conclude() need not redact again: the chunks' (their partials hold
    # them, so no id is reused), and those scrubbed while a stage ran beside.
    redacted = {id(d) for p in partials if p.scrubbed for d in p.diagnostics}
    # With several processes, the tree rules and the proxies are judged in another one,
    # while this one encodes the report; only when nothing after these stages needs their
    # state here (live targets pair their answers with the proxies' routes; kept facts
    # stay in this process).
    if proxies is not None and jobs > 1 and not options.targets and not options.keep_facts:
        from labwarden._fork import InChild

        beside = InChild(lambda: _later_stages(tree, proxies, runner, markers))
        # conclude()'s work on the diagnostics so far: they are not redacted again there.
        diagnostics[:] = redact_diagnostics(diagnostics, scrub, redacted)
        redacted = {id(d) for d in diagnostics}
        if options.prepare is not None:     # the report's, on what the workers found
            options.prepare(findings, diagnostics)
        findings.sort(key=sort_key)     # and number()'s: later it merges the stages' few
        judged_monitoring = _monitoring_stage(partials, options, runner)
        judged: tuple = beside.result()  # type: ignore[assignment]
        (tree_rows, tree_diagnostic_rows, proxy_rows, proxy_diagnostic_rows, used,
         stage_rules) = judged
        rules: dict[str, Rule] = {}
        tree_findings = [_unpack(row, rules) for row in tree_rows]
        tree_diagnostics = [Diagnostic(*row) for row in tree_diagnostic_rows]
        findings.extend(tree_findings)
        findings.extend(_unpack(row, rules) for row in proxy_rows)
        proxy_diagnostics = [Diagnostic(*row) for row in proxy_diagnostic_rows]
        for path, line in used:
            markers[path][line].used = True  # type: ignore[index]
    else:
        tree_findings, tree_diagnostics = _tree_stage(tree, runner, markers)
        findings.extend(tree_findings)
        proxy_diagnostics = []
        if proxies is not None:
            proxies.read_tree(runner, findings, proxy_diagnostics,
                              result.facts if options.keep_facts else None, markers)
    diagnostics.extend(marker_diagnostics(markers))
    diagnostics.sort(key=_diagnostic_order)
    diagnostics.extend(tree_diagnostics)
    diagnostics.extend(proxy_diagnostics)
    # Image scan reports, tied to the services running each image (sources/scans); the
    # module is imported only when reports are named: an audit without scans stays lean.
    policy = options.config.settings.scans
    if (policy is not None and policy.reports) or options.scan_reports or options.run_scan:
        from labwarden.audit import scans

        workloads = [w for p in partials for w in p.workloads
                     if f"compose:{w.project}" not in dropped]
        scans.judge(workloads, options, runner, findings, diagnostics,
                    result.facts if options.keep_facts else None)
    live: list[tuple[str, str, object]] = []
    if options.targets:
        from labwarden.audit.live import run_live

        run_live(options.targets, options.probe, runner, findings, diagnostics,
                 compose_paths=paths, load_options=options.load, kept=live, proxies=proxies)
        if options.keep_facts:
            result.facts.extend(live)
    if judged_monitoring is not None:           # judged while the stages ran beside
        findings.extend(judged_monitoring[0])
        diagnostics.extend(judged_monitoring[1])
    else:
        _monitoring_stage(partials, options, runner, live, findings, diagnostics,
                          result.facts if options.keep_facts else None)
    # Each worker redacted its projects' values; the rest may quote credentials by shape.
    rule_ids = runner.ids.union(stage_rules, *(p.rule_ids for p in partials))
    conclude(findings, diagnostics, options.config, options.today,
             scope=_scope(paths, options, partials, rule_ids) if options.config.waivers else None,
             redacted=redacted)
    result.rules_run = len(rule_ids)
    if options.left_for_exit is not None:
        options.left_for_exit.append((specs, partials, tree, proxies))
    result.duration_s = time.perf_counter() - started
    return result


def _scope(paths: list[str], options: AuditOptions, partials: list[_Partial],
           rule_ids: set[str]):
    """What this audit examined, for the waivers that matched nothing (audit.scope)."""
    from labwarden.audit.scope import AuditScope, covers_config_root

    subjects: set[str] = set()
    for partial in partials:
        for asset in partial.project_files:              # compose:PROJECT
            subjects.update((asset, asset.partition(":")[2]))
        for w in partial.workloads:
            subjects.update((f"{w.project}/{w.service}", f"compose:{w.project}/{w.service}"))
    files = {path for partial in partials for path in partial.markers}
    whole = covers_config_root(paths, options.compose_files, options.config.path)
    return AuditScope(rule_ids, whole=whole, subjects=subjects, files=files,
                      live=bool(options.targets))


def _audited(paths: list[str], options: AuditOptions) -> list[str]:
    """What the audit was given, as its reports name it: the paths, the `-f` files and the
    live targets (a password in a target's URL redacted), each once."""
    named = list(paths) + [f for f in options.compose_files if f not in paths]
    for target in options.targets:
        raw = scrub(target.raw)
        if raw not in named:
            named.append(raw)
    return named


def _monitoring_stage(partials: list[_Partial], options: AuditOptions, runner: RuleRunner,
                      live: list | None = None, findings: list[Finding] | None = None,
                      diagnostics: list[Diagnostic] | None = None,
                      kept: list | None = None) -> tuple[list, list]:
    """The monitoring stack judged per inventory service (its files, and the APIs of the
    live targets): into `findings` and `diagnostics`, or lists of its own."""
    findings = [] if findings is None else findings
    diagnostics = [] if diagnostics is None else diagnostics
    stack = [part for partial in partials for part in partial.stack]
    if stack or live:
        from labwarden.audit.monitoring import judge

        judge(stack, [i for p in partials for i in p.indexes],
              [f for _, _, f in live or ()], options, runner, findings, diagnostics, kept)
    return findings, diagnostics


def _tree_stage(tree: ComposeTree, runner: RuleRunner,
                markers: dict) -> tuple[list[Finding], list[Diagnostic]]:
    """The rules over the whole tree; their findings offered to the inline markers."""
    found: list[Finding] = []
    diagnostics: list[Diagnostic] = []
    runner.run(tree, "compose-tree", found, diagnostics)
    if found:
        extra = {}                      # a file no chunk read: its markers, quietly
        for f in found:
            path = f.location.path
            if path not in markers and path not in extra:
                extra[path] = inline_markers(path, _read_text(path)) or None
        mark_suppressed(found, {**markers, **extra} if extra else markers)
    return found, diagnostics


def _later_stages(tree: ComposeTree, proxies, runner: RuleRunner, markers: dict) -> tuple:
    """The tree rules and the proxy stage, as plain tuples (they run in another process):
    each one's findings and diagnostics, the Compose files' markers their findings used, as
    (path, line), and the rules that ran."""
    tree_found, tree_diagnostics = _tree_stage(tree, runner, markers)
    proxy_found: list[Finding] = []
    proxy_diagnostics: list[Diagnostic] = []
    proxies.read_tree(runner, proxy_found, proxy_diagnostics, None, markers)
    used = [(path, line) for path, by_line in markers.items() if by_line
            for line, marker in by_line.items() if marker.used]
    return ([_pack(f) for f in tree_found], [_diagnostic_row(d) for d in tree_diagnostics],
            [_pack(f) for f in proxy_found], [_diagnostic_row(d) for d in proxy_diagnostics],
            used, runner.ids)


def _diagnostic_row(d: Diagnostic) -> tuple:
    return (d.level, d.code, d.message, d.location)


def _proxy_stage(partials: list[_Partial], dropped: set[str], options: AuditOptions):
    """The reverse-proxy stage, when the tree runs a proxy or a target names one (the module
    is imported only then)."""
    specs = [s for p in partials for s in p.proxies
             if f"compose:{s.workload.project}" not in dropped]
    named = any(getattr(t, "scheme", "") in ("npm", "traefik", "caddy") for t in options.targets)
    if not specs and not named:
        return None
    from labwarden.audit.proxies import ProxyStage

    workloads = [w for p in partials for w in p.workloads
                 if f"compose:{w.project}" not in dropped]
    return ProxyStage(workloads, specs)


def _common_root(paths: list[str], directories: set[str] | None = None) -> str:
    """The directory every audited path is under, to show locations relative to it.
    `directories`: which paths are directories, when known (else the file system says)."""
    is_dir = os.path.isdir if directories is None else directories.__contains__
    parents = [p if is_dir(p) else os.path.dirname(p) or "." for p in paths]
    try:
        return os.path.commonpath(parents) if parents else ""
    except ValueError:  # absolute and relative paths mixed
        return ""
