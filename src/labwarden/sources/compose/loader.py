"""Load a Compose project as `docker compose config` would resolve it, keeping locations.

Order of work, as in compose-go: read the project's `.env` (which may name COMPOSE_FILE);
for each file, parse, interpolate, check keys, resolve `extends` and `include`; then merge
the files in order; then build typed `Service` facts (ports, mounts, environment with
`env_file` contents). Every problem becomes a `Diagnostic` with its location; a broken file
never stops the others.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from labwarden.model import Diagnostic, Location
from labwarden.sources.compose import spec
from labwarden.sources.compose.discover import ProjectSpec
from labwarden.sources.compose.interpolate import InterpolationError, Outcome, interpolate
from labwarden.sources.compose.merge import merge, normalise_service
from labwarden.sources.compose.model import (
    ComposeProject, EnvValue, Service, UnknownKey, parse_bool, parse_mount, parse_port)
from labwarden.sources.envfile import EnvFile, read_env_file
from labwarden.sources.yamlfile import Map, Seq, YamlLoadError, load_yaml_file

MAX_EXTENDS_DEPTH = 32
MAX_INCLUDE_DEPTH = 16
_PROJECT_NAME = re.compile(r"[^a-z0-9_-]")


@dataclass
class LoadOptions:
    use_environment: bool = False        # also read variables from the auditor's shell
    profiles: tuple[str, ...] | None = None  # None: audit every service, whatever its profile
    env_file: str | None = None          # instead of the project's .env
    max_file_bytes: int = 10 * 1024 * 1024


@dataclass
class _FileModel:
    path: str
    data: Map
    text: str


@dataclass
class _Context:
    options: LoadOptions
    diagnostics: list[Diagnostic]
    environment: dict[str, str]
    unknown_keys: list[UnknownKey] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    reported_gaps: set = field(default_factory=set)

    def report(self, level: str, code: str, message: str, location: Location | None) -> None:
        self.diagnostics.append(Diagnostic(level, code, message, location))


def load_project(spec_: ProjectSpec, diagnostics: list[Diagnostic],
                 options: LoadOptions | None = None,
                 texts: dict[str, str] | None = None) -> ComposeProject | None:
    """Resolve one project. Returns None when none of its files could be read."""
    options = options or LoadOptions()
    directory = spec_.directory
    dotenv_path = options.env_file or os.path.join(directory, ".env")
    dotenv = None
    environment: dict[str, str] = {}
    if os.path.exists(dotenv_path) or os.path.islink(dotenv_path):
        lookup = os.environ.get if options.use_environment else None
        dotenv = read_env_file(dotenv_path, lookup, role="dotenv")
        for code, message, loc in dotenv.problems:
            diagnostics.append(Diagnostic("error", code, message, loc))
        environment.update(dotenv.values())
    if options.use_environment:
        environment.update(os.environ)
    ctx = _Context(options, diagnostics, environment)

    files = list(spec_.files)
    compose_file = environment.get("COMPOSE_FILE")
    if compose_file and not spec_.explicit:
        separator = environment.get("COMPOSE_PATH_SEPARATOR", os.pathsep)
        files = [os.path.join(directory, f) for f in compose_file.split(separator) if f]

    models = [m for m in (_load_file(ctx, path) for path in files) if m is not None]
    if not models:
        return None
    merged = models[0].data
    for model in models[1:]:
        merged = merge(merged, model.data)

    name = merged.get("name") or environment.get("COMPOSE_PROJECT_NAME") or \
        os.path.basename(os.path.abspath(directory))
    name = _PROJECT_NAME.sub("", str(name).lower()) or "default"
    project = ComposeProject(name=spec_.key or name, directory=directory,
                             files=[m.path for m in models], raw=merged, dotenv=dotenv,
                             legacy=bool(merged.get("__legacy__")))
    merged.pop("__legacy__", None)
    project.unknown_keys = ctx.unknown_keys
    if texts is not None:
        texts.update(ctx.texts)
    services = merged.get("services")
    if isinstance(services, Map):
        profiles = options.profiles
        if profiles is None and environment.get("COMPOSE_PROFILES") is not None:
            profiles = None  # audit all: an inactive profile can be switched on any time
        for service_name, raw in services.items():
            if not isinstance(raw, Map):
                ctx.report("error", "bad-service", f"service {service_name!r} is not a mapping",
                           services.loc_of(service_name))
                continue
            service = _build_service(ctx, project, str(service_name), raw,
                                     services.loc_of(service_name))
            if profiles is not None and service.profiles and \
                    not set(service.profiles) & set(profiles):
                continue
            project.services[service.name] = service
    return project


# --- one file -------------------------------------------------------------------------

def _read(ctx: _Context, path: str) -> _FileModel | None:
    """Parse a file. Each use gets its own parse: interpolation rewrites values in place, and
    a file is rarely used twice (only through `extends: file:`)."""
    model = None
    try:
        text, documents, problems = load_yaml_file(path, ctx.options.max_file_bytes)
    except YamlLoadError as exc:
        ctx.report("error", exc.code, exc.message, exc.location)
    else:
        ctx.texts[path] = text
        for code, message, loc in problems:
            ctx.report("error" if code == "duplicate-key" else "warning", code, message, loc)
        data = None
        for document in documents:
            if not isinstance(document, Map):
                ctx.report("error", "not-a-mapping", "a Compose file must be a mapping at the "
                           "top level", Location(path, 1))
                continue
            data = document if data is None else merge(data, document)
        if data is None and not documents:
            ctx.report("warning", "empty-file", "empty Compose file: nothing to audit",
                       Location(path))
        if data is not None:
            model = _FileModel(path, data, text)
    return model


def _load_file(ctx: _Context, path: str, include_depth: int = 0,
               including: tuple[str, ...] = ()) -> _FileModel | None:
    parsed = _read(ctx, path)
    if parsed is None:
        return None
    data = parsed.data
    if "services" not in data and any(isinstance(v, Map) and ("image" in v or "build" in v)
                                      for v in data.values()):
        data = _from_legacy(data)
    _interpolate_tree(ctx, data, path)
    _check_keys(ctx, data, path)
    services = data.get("services")
    if isinstance(services, Map):
        for name, raw in services.items():
            if isinstance(raw, Map):
                normalise_service(raw)
        for name in list(services):
            if isinstance(services[name], Map) and "extends" in services[name]:
                services[name] = _extend(ctx, path, services, name, 0, ())
    if "include" in data:
        _include(ctx, data, path, include_depth, including + (os.path.abspath(path),))
    return _FileModel(path, data, parsed.text)


def _from_legacy(data: Map) -> Map:
    """A version-1 file has its services at the top level."""
    wrapped = Map()
    wrapped.loc = data.loc
    wrapped["services"] = data
    wrapped.key_locs["services"] = data.loc
    wrapped["__legacy__"] = True
    return wrapped


# --- interpolation ----------------------------------------------------------------------

def _interpolate_tree(ctx: _Context, root: Map, path: str) -> None:
    env = ctx.environment
    resolve = env.get
    stack: list = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Map):
            for key, value in node.items():
                if isinstance(value, str):
                    if "$" in value:
                        node[key] = _interpolate_value(ctx, value, resolve, node.loc_of(key),
                                                       node, key)
                elif isinstance(value, (Map, Seq)):
                    stack.append(value)
        else:
            for index, value in enumerate(node):
                if isinstance(value, str):
                    if "$" in value:
                        node[index] = _interpolate_value(ctx, value, resolve,
                                                         node.loc_of(index), node, index)
                elif isinstance(value, (Map, Seq)):
                    stack.append(value)


def _interpolate_value(ctx: _Context, value: str, resolve, loc: Location, parent, key) -> str:
    outcome = Outcome()
    try:
        result = interpolate(value, resolve, outcome)
    except InterpolationError:
        ctx.report("error", "bad-interpolation", "invalid interpolation syntax; Compose "
                   "refuses this file (use $$ for a literal dollar)", loc)
        return value
    # Remember what was written, so rules can tell a literal secret from a ${VARIABLE}.
    if parent.written is None:
        parent.written = {}
    parent.written[key] = value
    for name in outcome.missing:
        marker = (loc.path, name)
        if marker not in ctx.reported_gaps:
            ctx.reported_gaps.add(marker)
            ctx.report("gap", "unset-variable", f"${{{name}}} is not set (no .env value, no "
                       "default): analysed as an empty string, as Compose would use it", loc)
    for name, message in outcome.required:
        ctx.report("gap", "required-variable", f"${{{name}}} is required"
                   f"{': ' + message if message else ''}; Compose refuses to start without it",
                   loc)
    return result


# --- key validation ----------------------------------------------------------------------

def _check_keys(ctx: _Context, data: Map, path: str) -> None:
    legacy = bool(data.get("__legacy__"))
    for key in data:
        if key not in spec.TOP_LEVEL and not key.startswith("x-") and key != "__legacy__":
            ctx.unknown_keys.append(UnknownKey(key, "top level", data.loc_of(key),
                                               spec.suggest(key, spec.TOP_LEVEL)))
    services = data.get("services")
    if not isinstance(services, Map):
        return
    allowed = spec.SERVICE | spec.LEGACY_SERVICE if legacy else spec.SERVICE
    for name, service in services.items():
        if not isinstance(service, Map):
            continue
        for key in service:
            if key not in allowed and not key.startswith("x-"):
                ctx.unknown_keys.append(UnknownKey(key, f"service {name}", service.loc_of(key),
                                                   spec.suggest(key, spec.SERVICE)))
        for keys, known in spec.NESTED.items():
            node = service
            for key in keys:
                node = node.get(key) if isinstance(node, Map) else None
            if isinstance(node, Map):
                for key in node:
                    if key not in known and not key.startswith("x-"):
                        ctx.unknown_keys.append(UnknownKey(
                            key, f"service {name}: {'.'.join(keys)}", node.loc_of(key),
                            spec.suggest(key, known)))


# --- extends and include -----------------------------------------------------------------

def _extend(ctx: _Context, path: str, services: Map, name: str, depth: int,
            chain: tuple) -> Map:
    service = services[name]
    ref = service.get("extends")
    loc = service.loc_of("extends")
    if isinstance(ref, str):
        base_name, base_file = ref, None
    elif isinstance(ref, Map):
        base_name, base_file = ref.get("service"), ref.get("file")
    else:
        ctx.report("error", "bad-extends", "`extends` takes a service name or a mapping", loc)
        return service
    marker = (os.path.abspath(base_file and os.path.join(os.path.dirname(path), base_file)
                              or path), base_name)
    if marker in chain or depth > MAX_EXTENDS_DEPTH:
        ctx.report("error", "extends-cycle", f"`extends` of {base_name!r} loops back on itself",
                   loc)
        return service
    if base_file:
        base_path = os.path.join(os.path.dirname(path), str(base_file))
        model = _read(ctx, base_path)
        if model is None:
            ctx.report("error", "extends-missing", f"cannot load the extended file {base_file}",
                       loc)
            return service
        base_data = model.data
        _interpolate_tree(ctx, base_data, base_path)
        base_services = base_data.get("services")
        base_path_for_chain = base_path
    else:
        base_services, base_path_for_chain = services, path
    if not isinstance(base_services, Map) or not isinstance(base_services.get(base_name), Map):
        ctx.report("error", "extends-missing", f"the extended service {base_name!r} does not "
                   "exist", loc)
        return service
    base = base_services[base_name]
    normalise_service(base)
    if "extends" in base:
        base = _extend(ctx, base_path_for_chain, base_services, base_name, depth + 1,
                       chain + (marker,))
    extended = {k: v for k, v in service.items() if k != "extends"}
    own = Map(extended)
    own.loc, own.key_locs = service.loc, {k: v for k, v in service.key_locs.items()
                                          if k != "extends"}
    return merge(base, own)


def _include(ctx: _Context, data: Map, path: str, depth: int, including: tuple) -> None:
    entries = data.get("include")
    entries = entries if isinstance(entries, Seq) else Seq([entries])
    services = data.get("services")
    if not isinstance(services, Map):
        services = Map()
        services.loc = data.loc
        data["services"] = services
        data.key_locs["services"] = data.loc_of("include")
    for index, entry in enumerate(entries):
        loc = entries.loc_of(index) if entries.item_locs else data.loc_of("include")
        paths = entry.get("path") if isinstance(entry, Map) else entry
        paths = list(paths) if isinstance(paths, Seq) else [paths]
        for relative in paths:
            if not isinstance(relative, str):
                ctx.report("error", "bad-include", "`include` takes paths", loc)
                continue
            target = os.path.join(os.path.dirname(path), relative)
            if os.path.abspath(target) in including or depth >= MAX_INCLUDE_DEPTH:
                ctx.report("error", "include-cycle", f"{relative} includes itself", loc)
                continue
            model = _load_file(ctx, target, depth + 1, including)
            if model is None:
                ctx.report("error", "include-missing", f"cannot load included file {relative}",
                           loc)
                continue
            included = model.data.get("services")
            if not isinstance(included, Map):
                continue
            for name, service in included.items():
                if name in services:
                    ctx.report("error", "include-conflict", f"service {name!r} from {relative} "
                               "is also defined here; Compose refuses the project", loc)
                    continue
                services[name] = service
                services.key_locs[name] = included.loc_of(name)
            for section in ("networks", "volumes", "secrets", "configs"):
                extra = model.data.get(section)
                if isinstance(extra, Map):
                    mine = data.get(section)
                    data[section] = extra if not isinstance(mine, Map) else merge(extra, mine)
    data.pop("include", None)


# --- typed service facts -----------------------------------------------------------------

def _build_service(ctx: _Context, project: ComposeProject, name: str, raw: Map,
                   location: Location) -> Service:
    service = Service(project=project, name=name, raw=raw, location=location)
    ports = raw.get("ports")
    if isinstance(ports, Seq):
        for index, item in enumerate(ports):
            port = parse_port(item, ports.loc_of(index))
            if port is None:
                ctx.report("warning", "bad-port", f"cannot read port {item!r}",
                           ports.loc_of(index))
            else:
                service.ports.append(port)
    volumes = raw.get("volumes")
    if isinstance(volumes, Seq):
        for index, item in enumerate(volumes):
            mount = parse_mount(item, volumes.loc_of(index))
            if mount is not None:
                service.mounts.append(mount)
    tmpfs = raw.get("tmpfs")
    for target, loc in service.items("tmpfs") if tmpfs is not None else ():
        service.mounts.append(parse_mount(Map(type="tmpfs", target=target.split(":")[0]), loc))
    profiles = raw.get("profiles")
    if isinstance(profiles, Seq):
        service.profiles = tuple(str(p) for p in profiles)
    _collect_environment(ctx, project, service, raw)
    return service


def _collect_environment(ctx: _Context, project: ComposeProject, service: Service,
                         raw: Map) -> None:
    env_files = raw.get("env_file")
    if env_files is not None:
        entries = env_files if isinstance(env_files, Seq) else Seq([env_files])
        for index, entry in enumerate(entries):
            loc = entries.loc_of(index) if entries.item_locs else service.loc("env_file")
            required = True
            if isinstance(entry, Map):
                required = parse_bool(entry.get("required")) is not False
                entry = entry.get("path")
            if not isinstance(entry, str):
                continue
            path = os.path.join(project.directory, entry)
            service.env_files.append(path)
            env = project.env_files.get(path)
            if env is None:
                if not os.path.exists(path):
                    if required:
                        ctx.report("gap", "env-file-missing", f"env_file {entry} does not exist "
                                   "here: its variables are not checked", loc)
                    continue
                env = read_env_file(path, ctx.environment.get, role="env_file")
                for code, message, problem_loc in env.problems:
                    ctx.report("error", code, message, problem_loc)
                project.env_files[path] = env
            for var in env.variables.values():
                service.environment[var.name] = EnvValue(var.name, var.value, var.location,
                                                         "env_file", written=var.written)
    environment = raw.get("environment")
    if isinstance(environment, Map):
        for key, value in environment.items():
            service.environment[key] = EnvValue(
                key, None if value is None else _env_text(value), environment.loc_of(key),
                written=(environment.written or {}).get(key))


def _env_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
