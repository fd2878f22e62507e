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

from labwarden._record import Record
from labwarden.model import Diagnostic, Location
from labwarden.sources._walk import lexists
from labwarden.sources.compose import spec
from labwarden.sources.compose.discover import ProjectSpec, override_for
from labwarden.sources.compose.interpolate import (
    Budget, InterpolationError, Outcome, interpolate_bounded)
from labwarden.sources.compose.merge import merge, normalise_service
from labwarden.sources.compose.model import (
    ComposeProject, EnvValue, Service, UnknownKey, long_port_spec, parse_bool, parse_mount,
    parse_port, port_problem)
from labwarden.sources.envfile import EnvFile, read_env_file
from labwarden.sources.yamlfile import (
    RESET, Map, Seq, Tagged, YamlLoadError, load_yaml_file, may_interpolate)

MAX_EXTENDS_DEPTH = 32
MAX_INCLUDE_DEPTH = 16
# Files parsed for one project, counting each `include` and `extends: file:` read: a fan-out
# of includes that include the same files again would otherwise grow exponentially.
MAX_FILE_READS = 256
_PROJECT_NAME = re.compile(r"[^a-z0-9_-]")


class LoadOptions(Record):
    __slots__ = ("use_environment", "profiles", "env_file", "max_file_bytes")

    def __init__(self, use_environment: bool = False,   # also the auditor's shell variables
                 profiles: tuple[str, ...] | None = None,  # None: every service, any profile
                 env_file: str | None = None,            # instead of the project's .env
                 max_file_bytes: int = 10 * 1024 * 1024):
        self.use_environment = use_environment
        self.profiles = profiles
        self.env_file = env_file
        self.max_file_bytes = max_file_bytes


class _FileModel(Record):
    __slots__ = ("path", "data", "text")

    def __init__(self, path: str, data: Map, text: str):
        self.path = path
        self.data = data
        self.text = text


class _Context:
    """What loading one project carries from file to file."""

    __slots__ = ("options", "diagnostics", "environment", "directory", "unknown_keys",
                 "texts", "reported_gaps", "include_env_files", "included_files", "reads",
                 "extended_files")

    def __init__(self, options: LoadOptions, diagnostics: list[Diagnostic],
                 environment: dict[str, str], directory: str = "."):
        self.options = options
        self.diagnostics = diagnostics
        self.environment = environment
        self.directory = directory        # the project directory: relative paths resolve here
        self.unknown_keys: list[UnknownKey] = []
        self.texts: dict[str, str] = {}
        self.reported_gaps: set = set()
        self.include_env_files: dict[str, EnvFile] = {}
        self.included_files: list[str] = []
        self.reads = 0
        # (file, environment) -> its services, read once however many services extend it
        self.extended_files: dict[tuple[str, int], Map | None] = {}

    def report(self, level: str, code: str, message: str, location: Location | None) -> None:
        self.diagnostics.append(Diagnostic(level, code, message, location))


def load_project(spec_: ProjectSpec, diagnostics: list[Diagnostic],
                 options: LoadOptions | None = None,
                 texts: dict[str, str] | None = None) -> ComposeProject | None:
    """Resolve one project. Returns None when none of its files could be read.

    Never raises: a problem with the input is a diagnostic, and so is a bug here, so that
    the rest of the tree is still audited.
    """
    try:
        return _load_project(spec_, diagnostics, options or LoadOptions(), texts)
    except Exception as exc:  # noqa: BLE001 - one project must not end the audit
        where = Location(spec_.files[0]) if spec_.files else Location(spec_.directory)
        # The exception text may quote input values: name only its type.
        diagnostics.append(Diagnostic("error", "load-failed", "this project could not be "
                                      f"loaded ({type(exc).__name__}: a labwarden bug)", where))
        return None


def _load_project(spec_: ProjectSpec, diagnostics: list[Diagnostic], options: LoadOptions,
                  texts: dict[str, str] | None) -> ComposeProject | None:
    directory = spec_.directory
    dotenv_path = options.env_file or os.path.join(directory, ".env")
    dotenv = None
    environment: dict[str, str] = {}
    if lexists(dotenv_path):                  # a file, or a link (even a broken one)
        lookup = os.environ.get if options.use_environment else None
        dotenv = read_env_file(dotenv_path, lookup, role="dotenv")
        for code, message, loc in dotenv.problems:
            diagnostics.append(Diagnostic("error", code, message, loc))
        environment.update(dotenv.values())
        if not dotenv.readable:
            dotenv = None  # nothing to check in it, and reading it again could block
    if options.use_environment:
        environment.update(os.environ)
    ctx = _Context(options, diagnostics, environment, directory)

    files = list(spec_.files)
    if spec_.find_override:
        files += override_for(files[0])
    compose_file = environment.get("COMPOSE_FILE")
    if compose_file and not spec_.explicit:
        separator = environment.get("COMPOSE_PATH_SEPARATOR", os.pathsep)
        files = [os.path.join(directory, f) for f in compose_file.split(separator) if f]

    models = [m for m in (_load_file(ctx, path, environment) for path in files)
              if m is not None]
    if not models:
        return None
    merged = models[0].data
    for model in models[1:]:
        merged = merge(merged, model.data)
    if any("!reset" in text for text in ctx.texts.values()):
        _drop_resets(merged)

    # Compose's precedence: COMPOSE_PROJECT_NAME (the shell or .env), then `name:`, then
    # the directory's name; normalised as compose-go's NormalizeProjectName.
    name = environment.get("COMPOSE_PROJECT_NAME") or merged.get("name") or \
        os.path.basename(os.path.abspath(directory))
    name = _PROJECT_NAME.sub("", str(name).lower()).lstrip("_-")
    project = ComposeProject(name=spec_.key or name or "default", directory=directory,
                             files=[m.path for m in models], raw=merged, dotenv=dotenv,
                             legacy=bool(merged.get("__legacy__")), compose_name=name)
    merged.pop("__legacy__", None)
    project.unknown_keys = ctx.unknown_keys
    project.included_files = sorted(set(ctx.included_files))
    for path, env in ctx.include_env_files.items():
        if os.path.abspath(path) != os.path.abspath(dotenv_path):
            project.env_files.setdefault(path, env)
    if texts is not None:
        texts.update(ctx.texts)
    services = merged.get("services")
    if services is not None and not isinstance(services, Map):
        ctx.report("error", "bad-services", "`services` must be a mapping of service names; "
                   "Compose refuses this file", merged.loc_of("services"))
    if isinstance(services, Map):
        # None audits every service: an inactive profile can be switched on at any time.
        profiles = options.profiles
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


def _drop_resets(node) -> None:
    """Remove `!reset` values left after merging: there was nothing under them to reset."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, Map):
            for key in [k for k, v in node.items() if _is_reset(v)]:
                del node[key]
                node.key_locs.pop(key, None)
                if node.written:
                    node.written.pop(key, None)
            stack.extend(v for v in node.values() if isinstance(v, (Map, Seq)))
        elif isinstance(node, Seq):
            stack.extend(v for v in node if isinstance(v, (Map, Seq)))


def _is_reset(value) -> bool:
    return (isinstance(value, Tagged) and value == RESET) or getattr(value, "tag", "") == RESET


# --- one file -------------------------------------------------------------------------

def _read(ctx: _Context, path: str) -> _FileModel | None:
    """Parse a file. Each use gets its own parse: interpolation rewrites values in place, and
    a file is rarely used twice (only through `extends: file:`)."""
    model = None
    ctx.reads += 1
    if ctx.reads > MAX_FILE_READS:
        if ctx.reads == MAX_FILE_READS + 1:
            ctx.report("error", "too-many-files", f"this project reads more than "
                       f"{MAX_FILE_READS} files through `include` and `extends`; the rest "
                       "is not loaded", Location(path))
        return None
    try:
        text, documents, problems = load_yaml_file(path, ctx.options.max_file_bytes,
                                                   compose=True)
    except YamlLoadError as exc:
        ctx.report("error", exc.code, exc.message, exc.location)
    else:
        ctx.texts[path] = text
        for code, message, loc in problems:
            ctx.report("error" if code == "duplicate-key" else "warning", code, message, loc)
        data = None
        documents = [d for d in documents if d is not None]  # `---` alone: an empty document
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


def _load_file(ctx: _Context, path: str, environment: dict[str, str],
               base_dir: str | None = None, include_depth: int = 0,
               including: tuple[str, ...] = ()) -> _FileModel | None:
    """Load one file. `base_dir` is where its relative paths resolve when that is not the
    project directory (an included project's directory)."""
    parsed = _read(ctx, path)
    if parsed is None:
        return None
    data = parsed.data
    if "services" not in data and any(isinstance(v, Map) and ("image" in v or "build" in v)
                                      for v in data.values()):
        data = _from_legacy(data)
    if data and not any(str(k) in spec.TOP_LEVEL or str(k).startswith("x-") for k in data):
        # An htpasswd or shadow file parses as a mapping whose keys are its lines: one
        # diagnostic, and never a finding that quotes them.
        ctx.report("error", "not-compose", "not a Compose file: none of its top-level keys "
                   "is one Compose defines (its content is not shown)", Location(path, 1))
        return None
    if may_interpolate(parsed.text):    # else no value holds a reference to resolve
        _interpolate_tree(ctx, data, environment)
    _check_keys(ctx, data, path)
    own_dir = base_dir if base_dir is not None else ctx.directory
    services = data.get("services")
    if isinstance(services, Map):
        for raw in services.values():
            if isinstance(raw, Map):
                normalise_service(raw)
                if base_dir is not None:
                    _rebase_paths(ctx, raw, base_dir)
        for name in list(services):
            if isinstance(services[name], Map) and "extends" in services[name]:
                services[name] = _extend(ctx, path, own_dir, services, name, environment, 0, ())
    if "include" in data:
        _include(ctx, data, own_dir, environment, include_depth,
                 including + (os.path.abspath(path),))
    return _FileModel(path, data, parsed.text)


def _from_legacy(data: Map) -> Map:
    """A version-1 file has its services at the top level."""
    wrapped = Map()
    wrapped.loc = data.loc
    wrapped["services"] = data
    wrapped.key_locs["services"] = data.loc
    wrapped["__legacy__"] = True
    return wrapped


def _rebase_paths(ctx: _Context, service: Map, base_dir: str) -> None:
    """Make a service's `env_file` paths relative to the project directory.

    Compose resolves relative paths in a file that comes from `include` or `extends: file:`
    against that file's own directory; the facts keep every path relative to the project.
    """
    if os.path.abspath(base_dir) == os.path.abspath(ctx.directory):
        return
    entries = service.get("env_file")
    if isinstance(entries, str):
        service["env_file"] = _rebased(ctx, base_dir, entries)
    elif isinstance(entries, Seq):
        for index, entry in enumerate(entries):
            if isinstance(entry, str):
                entries[index] = _rebased(ctx, base_dir, entry)
            elif isinstance(entry, Map) and isinstance(entry.get("path"), str):
                entry["path"] = _rebased(ctx, base_dir, entry["path"])


def _rebased(ctx: _Context, base_dir: str, relative: str) -> str:
    if not relative or os.path.isabs(relative):
        return relative
    return os.path.relpath(os.path.join(base_dir, relative), ctx.directory)


# --- interpolation ----------------------------------------------------------------------

def _interpolate_tree(ctx: _Context, root: Map, environment: dict[str, str]) -> None:
    resolve = environment.get
    budget = Budget()                 # per file: repeating a large value adds up
    stack: list = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Map):
            for key, value in node.items():
                if isinstance(value, str):
                    if "$" in value:
                        node[key] = _interpolate_value(ctx, value, resolve, node.loc_of(key),
                                                       node, key, budget)
                elif isinstance(value, (Map, Seq)):
                    stack.append(value)
        else:
            for index, value in enumerate(node):
                if isinstance(value, str):
                    if "$" in value:
                        node[index] = _interpolate_value(ctx, value, resolve,
                                                         node.loc_of(index), node, index,
                                                         budget)
                elif isinstance(value, (Map, Seq)):
                    stack.append(value)


def _interpolate_value(ctx: _Context, value: str, resolve, loc: Location, parent, key,
                       budget: Budget) -> str:
    outcome = Outcome()
    try:
        result, refused = interpolate_bounded(value, resolve, budget, outcome)
    except InterpolationError:
        ctx.report("error", "bad-interpolation", "invalid interpolation syntax; Compose "
                   "refuses this file (use $$ for a literal dollar)", loc)
        return value
    if refused is not None:
        ctx.report("error", *refused, loc)
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

def _extend(ctx: _Context, path: str, base_dir: str, services: Map, name: str,
            environment: dict[str, str], depth: int, chain: tuple) -> Map:
    """`services[name]` with its `extends` resolved (recursively); `path` is its file."""
    service = services[name]
    ref = service.get("extends")
    loc = service.loc_of("extends")
    if isinstance(ref, str):
        base_name, base_file = ref, None
    elif isinstance(ref, Map) and isinstance(ref.get("service"), str):
        base_name, base_file = ref.get("service"), ref.get("file")
    else:
        ctx.report("error", "bad-extends", "`extends` takes a service name or a mapping with "
                   "`service:`", loc)
        return service
    if base_file is not None and not isinstance(base_file, str):
        ctx.report("error", "bad-extends", "`extends: file:` takes a path", loc)
        return service
    base_path = os.path.join(base_dir, base_file) if base_file else path
    marker = (os.path.abspath(base_path), base_name)
    if marker in chain:
        ctx.report("error", "extends-cycle", f"`extends` of {base_name!r} loops back on itself",
                   loc)
        return service
    if depth >= MAX_EXTENDS_DEPTH:
        ctx.report("error", "extends-too-deep", f"`extends` of {base_name!r} goes deeper than "
                   f"{MAX_EXTENDS_DEPTH} levels (the depth limit); the rest of the chain is "
                   "not followed", loc)
        return service
    if base_file:
        base_dir = os.path.dirname(base_path)  # its own relative paths resolve there
        base_services = _extended_file(ctx, base_path, environment)
        if base_services is None:
            if ctx.reads <= MAX_FILE_READS:
                ctx.report("error", "extends-missing", f"cannot load the extended file "
                           f"{base_file}", loc)
            return service
    else:
        base_services = services
    if not isinstance(base_services, Map) or not isinstance(base_services.get(base_name), Map):
        ctx.report("error", "extends-missing", f"the extended service {base_name!r} does not "
                   "exist", loc)
        return service
    base = base_services[base_name]
    normalise_service(base)
    if "extends" in base:
        base = _extend(ctx, base_path, base_dir, base_services, base_name, environment,
                       depth + 1, chain + (marker,))
    own = Map({k: v for k, v in service.items() if k != "extends"})
    own.loc = service.loc
    own.key_locs = {k: v for k, v in service.key_locs.items() if k != "extends"}
    own.written = service.written
    return merge(base, own)


def _extended_file(ctx: _Context, path: str, environment: dict[str, str]) -> Map | None:
    """The services of a file named by `extends: file:`, parsed once per project.

    Services extending the same base share its unmerged values, as services extending a
    service of their own file do: nothing after this point changes a value in place.
    """
    key = (os.path.abspath(path), id(environment))
    if key not in ctx.extended_files:
        model = _read(ctx, path)
        services = None
        if model is not None:
            _interpolate_tree(ctx, model.data, environment)
            services = model.data.get("services")
            if isinstance(services, Map):
                for raw in services.values():
                    if isinstance(raw, Map):
                        normalise_service(raw)
                        _rebase_paths(ctx, raw, os.path.dirname(path))
            else:
                services = Map()
        ctx.extended_files[key] = services
    return ctx.extended_files[key]


def _include(ctx: _Context, data: Map, base_dir: str, environment: dict[str, str],
             depth: int, including: tuple) -> None:
    """Import the services (and networks, volumes, secrets, configs) of `include`d projects.

    Each entry is a project of its own: its files (`path`, a string or a list of files
    merged in order) resolve relative paths in its `project_directory` (by default the first
    file's directory) and interpolate from its `env_file` (by default that directory's
    `.env`) under the including project's environment, which wins.
    """
    entries = data.pop("include", None)
    entries = entries if isinstance(entries, Seq) else Seq([entries])
    for index, entry in enumerate(entries):
        loc = entries.loc_of(index) if entries.item_locs else data.loc_of("include")
        if isinstance(entry, Map):
            paths, env_files = entry.get("path"), entry.get("env_file")
            project_dir = entry.get("project_directory")
        else:
            paths, env_files, project_dir = entry, None, None
        paths = list(paths) if isinstance(paths, Seq) else [paths]
        if not paths or not all(isinstance(p, str) and p for p in paths):
            ctx.report("error", "bad-include", "`include` takes paths to Compose files", loc)
            continue
        targets = [os.path.join(base_dir, p) for p in paths]
        if os.path.abspath(targets[0]) in including:
            ctx.report("error", "include-cycle", f"{paths[0]} includes itself", loc)
            continue
        if depth >= MAX_INCLUDE_DEPTH:
            ctx.report("error", "include-too-deep", f"{paths[0]}: `include` nested deeper than "
                       f"{MAX_INCLUDE_DEPTH} levels (the depth limit); not loaded", loc)
            continue
        include_dir = os.path.join(base_dir, project_dir) if isinstance(project_dir, str) \
            else os.path.dirname(targets[0])
        env = _include_environment(ctx, environment, env_files, base_dir, include_dir, loc)
        merged = None
        for relative, target in zip(paths, targets):
            model = _load_file(ctx, target, env, include_dir, depth + 1, including)
            if model is None:
                if ctx.reads <= MAX_FILE_READS:
                    ctx.report("error", "include-missing", f"cannot load included file "
                               f"{relative}", loc)
                continue
            ctx.included_files.append(os.path.abspath(target))
            merged = model.data if merged is None else merge(merged, model.data)
        if merged is not None:
            _import_resources(ctx, data, merged, paths[0], loc)


def _include_environment(ctx: _Context, environment: dict[str, str], env_files, base_dir: str,
                         include_dir: str, loc: Location) -> dict[str, str]:
    if env_files is None:
        default = os.path.join(include_dir, ".env")
        paths = [default] if os.path.isfile(default) else []
    else:
        entries = env_files if isinstance(env_files, Seq) else [env_files]
        paths = [os.path.join(base_dir, e) for e in entries if isinstance(e, str) and e]
    if not paths:
        return environment
    found: dict[str, str] = {}
    for path in paths:
        if not os.path.isfile(path):
            ctx.report("error", "include-env-missing", f"env_file {os.path.basename(path)} of "
                       "this include does not exist; Compose refuses the project", loc)
            continue
        env = read_env_file(path, lambda k: environment.get(k, found.get(k)), role="dotenv")
        for code, message, problem_loc in env.problems:
            ctx.report("error", code, message, problem_loc)
        found.update(env.values())
        if env.readable:
            ctx.include_env_files.setdefault(path, env)
    return {**found, **environment}  # the including project's variables win


def _import_resources(ctx: _Context, data: Map, imported: Map, relative: str,
                      loc: Location) -> None:
    for section in ("services", "networks", "volumes", "secrets", "configs"):
        extra = imported.get(section)
        if not isinstance(extra, Map):
            continue
        mine = data.get(section)
        if not isinstance(mine, Map):
            mine = Map()
            mine.loc = extra.loc
            data[section] = mine
            data.key_locs.setdefault(section, loc)
        for name, value in extra.items():
            if name in mine:
                if mine[name] != value:  # an identical definition is no conflict for Compose
                    ctx.report("error", "include-conflict", f"{section}.{name} from {relative} "
                               "is also defined here; Compose refuses the project", loc)
                continue
            mine[name] = value
            mine.key_locs[name] = extra.loc_of(name)


# --- typed service facts -----------------------------------------------------------------

def _build_service(ctx: _Context, project: ComposeProject, name: str, raw: Map,
                   location: Location) -> Service:
    service = Service(project=project, name=name, raw=raw, location=location)
    for key in ("ports", "volumes"):
        value = raw.get(key)
        if value is not None and not isinstance(value, Seq):  # its facts would be missing
            ctx.report("error", "bad-type", f"`{key}` of service {name!r} must be a list; "
                       "Compose refuses this file", raw.loc_of(key))
    ports = raw.get("ports")
    if isinstance(ports, Seq):
        for index, item in enumerate(ports):
            problem = port_problem(item)
            if problem is not None:
                # As `docker compose config` does: such an entry is no port on any interface.
                # Written with variables, the text is what unset ones left (a gap, reported
                # with the variable): a warning, as a clone without its .env must not fail.
                written = (ports.written or {}).get(index)
                if isinstance(item, Map) and item.written:
                    written = ", ".join(f"{k}: {v}" for k, v in item.written.items())
                spec = long_port_spec(item) if isinstance(item, Map) else str(item)
                level, refused = ("warning", "Compose would refuse it with these values") \
                    if written else ("error", "Compose refuses this file")
                ctx.report(level, "bad-port", f"port `{spec}`" + (
                    f" (written `{written}`)" if written else "") + f" of service {name!r}: "
                    f"{problem}; {refused}", ports.loc_of(index))
                continue
            port = parse_port(item, ports.loc_of(index))
            if port is None:
                written = (ports.written or {}).get(index)
                ctx.report("warning", "bad-port", f"cannot read port {item!r}" + (
                    f" (written {written!r})" if written else ""),
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
                if not env.readable:
                    continue  # reported; nothing to check in it
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
