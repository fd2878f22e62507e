"""Which container logs a log shipper collects, from its configuration: Promtail
(`scrape_configs` with `docker_sd_configs` or static `__path__` globs), Grafana Alloy
(`discovery.docker` → `discovery.relabel` → `loki.source.docker`, or `loki.source.file` on
Docker's log files), Vector (`sources` of type `docker_logs` or `file`, reaching a sink) and
Fluent Bit (classic or YAML: a `tail` input on Docker's log files reaching an output).

Each way of collecting is a `ShipRule`: every container, or those whose name or labels pass
its filters. What cannot be told from the file (a relabel rule on another label, a
discovery labwarden does not read) is `unresolved`: a container it might cover is never
said to be missed.
"""

from __future__ import annotations

import fnmatch
import re

from labwarden.model import Diagnostic, Location
from labwarden.sources.monitoring.facts import ShipperView, ShipRule
from labwarden.sources.monitoring.paths import load_yaml, read_text, seq, text_list
from labwarden.sources.yamlfile import Map

# Where Docker's json-file driver writes: a glob covering one of these reads every container.
DOCKER_LOG = "/var/lib/docker/containers/0123abcd/0123abcd-json.log"
_NAME = "__meta_docker_container_name"
_LABEL = "__meta_docker_container_label_"


def sanitize(label: str) -> str:
    """A Docker label as Prometheus-style discovery names it (`com.docker.compose.service`
    → `com_docker_compose_service`)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", label)


def covers_docker_logs(pattern: str) -> bool:
    return fnmatch.fnmatchcase(DOCKER_LOG, pattern.replace("**", "*"))


def read(kind: str, path: str) -> ShipperView:
    view = ShipperView(kind=kind, where=path, location=Location(path, 1))
    reader = {"promtail": _promtail, "alloy": _alloy, "vector": _vector,
              "fluent-bit": _fluent_bit}[kind]
    reader(path, view)
    return view


def _docker_filters(filters, rule: ShipRule) -> None:
    """Docker API filters (Promtail's and Alloy's `filters`/`filter`): `label` and `name`
    keep containers; values of one filter are alternatives."""
    for entry in filters:
        name = str(entry.get("name", ""))
        values = text_list(entry.get("values"))
        if name == "label":
            for value in values:
                key, eq, wanted = value.partition("=")
                rule.labels.append((sanitize(key), re.escape(wanted) if eq else None))
        elif name == "name":
            rule.names.extend(f".*{v}.*" for v in values)      # Docker: a substring match
        elif name not in ("status",):
            rule.how += f" (filter {name}: not judged)"
            rule.all_containers = False
            rule.names.append("(?!)")                          # keeps nothing it can tell


def _relabel(rules, rule: ShipRule, view: ShipperView, where: str) -> None:
    """`keep`/`drop` on the container name or a label narrow what is collected."""
    for entry in rules:
        action = str(entry.get("action", "replace")).lower()
        if action not in ("keep", "drop"):
            continue
        sources = text_list(entry.get("source_labels"))
        regex = str(entry.get("regex", "(.*)"))
        if len(sources) != 1:
            view.unresolved.append(f"{where}: {action} on {', '.join(sources) or 'nothing'}")
            continue
        source = sources[0]
        if source == _NAME:
            (rule.names if action == "keep" else rule.drop_names).append(regex)
        elif source.startswith(_LABEL) and action == "keep":
            rule.labels.append((source[len(_LABEL):], regex))
        else:
            view.unresolved.append(f"{where}: {action} on {source}")
    if rule.names or rule.labels:
        rule.all_containers = False


# -- Promtail -------------------------------------------------------------------------------

def _promtail(path: str, view: ShipperView) -> None:
    data = load_yaml(path, view.diagnostics)
    if not isinstance(data, Map):
        view.error = "the Promtail configuration could not be read"
        return
    jobs = data.get("scrape_configs")
    if "scrape_configs" in data:
        view.location = data.loc_of("scrape_configs")
    for job in seq(jobs):
        if not isinstance(job, Map):
            continue
        name = str(job.get("job_name", ""))
        for sd in seq(job.get("docker_sd_configs")):
            if isinstance(sd, Map):
                rule = ShipRule(f"docker_sd_configs of job {name}", all_containers=True)
                _docker_filters(seq(sd.get("filters")), rule)
                _relabel(seq(job.get("relabel_configs")), rule, view, f"job {name}")
                view.rules.append(rule)
        for group in seq(job.get("static_configs")):
            labels = group.get("labels") if isinstance(group, Map) else None
            pattern = labels.get("__path__") if isinstance(labels, Map) else None
            if pattern is not None and covers_docker_logs(str(pattern)):
                view.rules.append(ShipRule(f"{pattern} in job {name}", all_containers=True,
                                           json_files_only=True))
        for key in job:
            if key.endswith("_sd_configs") and key != "docker_sd_configs" and job.get(key):
                view.unresolved.append(f"job {name}: {key}")


# -- Grafana Alloy --------------------------------------------------------------------------

def _alloy(path: str, view: ShipperView) -> None:
    from labwarden.sources.monitoring import river

    text = read_text(path, view.diagnostics)
    if text is None:
        view.error = "the Alloy configuration could not be read"
        return
    try:
        root = river.parse(text)
    except river.RiverError as exc:
        view.error = f"not valid Alloy syntax: {exc}"
        view.diagnostics.append(Diagnostic("error", "unreadable-config", view.error,
                                           Location(path, exc.line)))
        return
    by_ref = {f"{b.name}.{b.label}": b for b in root.blocks if b.label is not None}

    def resolve(expr, rule: ShipRule, depth: int = 0) -> bool:
        """Narrow `rule` by what `expr` (a targets expression) names; False when unknown."""
        text = str(expr)
        match = re.fullmatch(r"(discovery\.(?:docker|relabel)\.[A-Za-z0-9_]+)\.(targets|output)",
                             text)
        if match is None or match.group(1) not in by_ref or depth > 8:
            return False
        block = by_ref[match.group(1)]
        if block.name == "discovery.docker":
            _docker_filters([{"name": f.attrs.get("name"), "values": f.attrs.get("values")}
                             for f in block.children("filter")], rule)
            return True
        known = resolve(block.attrs.get("targets"), rule, depth + 1)
        _relabel([r.attrs for r in block.children("rule")], rule, view,
                 f"discovery.relabel.{block.label}")
        return known

    for block in root.blocks:
        if block.name == "loki.source.docker":
            rule = ShipRule(f"loki.source.docker.{block.label}", all_containers=True)
            if not resolve(block.attrs.get("targets"), rule):
                view.unresolved.append(f"loki.source.docker.{block.label}: targets "
                                       f"{block.attrs.get('targets')}")
                continue
            rules = str(block.attrs.get("relabel_rules", ""))
            named = re.fullmatch(r"(discovery\.relabel\.[A-Za-z0-9_]+)\.rules", rules)
            if named and named.group(1) in by_ref:
                _relabel([r.attrs for r in by_ref[named.group(1)].children("rule")], rule, view,
                         named.group(1))
            view.rules.append(rule)
            view.location = view.location if view.rules[:-1] else river.location(path, block)
        elif block.name == "local.file_match":
            listed = block.attrs.get("path_targets")
            for target in listed if isinstance(listed, list) else []:
                pattern = target.get("__path__") if isinstance(target, dict) else None
                if pattern is not None and covers_docker_logs(str(pattern)):
                    used = any(f"local.file_match.{block.label}.targets" in
                               str(b.attrs.get("targets")) for b in root.blocks
                               if b.name == "loki.source.file")
                    if used:
                        view.rules.append(ShipRule(f"{pattern} (local.file_match.{block.label})",
                                                   all_containers=True, json_files_only=True))


# -- Vector ---------------------------------------------------------------------------------

_DROP_SINKS = ("console", "blackhole")


def _vector(path: str, view: ShipperView) -> None:
    if path.endswith(".toml"):
        import tomllib

        text = read_text(path, view.diagnostics)
        if text is None:
            view.error = "the Vector configuration could not be read"
            return
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            view.error = f"not valid TOML: {exc}"
            line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else 1
            view.diagnostics.append(Diagnostic("error", "unreadable-config", view.error,
                                               Location(path, line)))
            return
    else:
        loaded = load_yaml(path, view.diagnostics)
        if not isinstance(loaded, dict):
            view.error = "the Vector configuration could not be read"
            return
        data = loaded

    def table(key: str) -> dict:
        value = data.get(key)
        return value if isinstance(value, dict) else {}

    sources, transforms, sinks = table("sources"), table("transforms"), table("sinks")
    graph = {**transforms, **sinks}
    delivered = _reaching(set(sources), graph, {k for k, v in sinks.items()
                                                if isinstance(v, dict) and
                                                str(v.get("type")) not in _DROP_SINKS})
    for name, source in sources.items():
        if not isinstance(source, dict) or name not in delivered:
            continue
        kind = str(source.get("type", ""))
        if kind == "docker_logs":
            rule = ShipRule(f"sources.{name} (docker_logs)", all_containers=True)
            rule.name_prefixes = text_list(source.get("include_containers"))
            rule.exclude_prefixes = text_list(source.get("exclude_containers"))
            for value in text_list(source.get("include_labels")):
                key, eq, wanted = value.partition("=")
                rule.labels.append((sanitize(key), re.escape(wanted) if eq else None))
            if source.get("include_images"):
                view.unresolved.append(f"sources.{name}: include_images")
            if rule.name_prefixes or rule.labels:
                rule.all_containers = False
            view.rules.append(rule)
        elif kind == "file" and any(covers_docker_logs(p)
                                    for p in text_list(source.get("include"))):
            view.rules.append(ShipRule(f"sources.{name} (file)", all_containers=True,
                                       json_files_only=True))
    if isinstance(data, Map) and "sources" in data:
        view.location = data.loc_of("sources")


def _reaching(sources: set[str], graph: dict, sinks: set[str]) -> set[str]:
    """The sources whose events reach one of `sinks` through transforms (inputs may be
    globs, as Vector allows)."""
    reached: set[str] = set()
    for source in sources:
        frontier, seen = [source], {source}
        while frontier:
            current = frontier.pop()
            for name, node in graph.items():
                inputs = text_list(node.get("inputs")) if isinstance(node, dict) else []
                if name not in seen and any(fnmatch.fnmatchcase(current, i) for i in inputs):
                    if name in sinks:
                        reached.add(source)
                    seen.add(name)
                    frontier.append(name)
    return reached


# -- Fluent Bit -----------------------------------------------------------------------------

_NULL_OUTPUTS = ("null", "stdout", "counter")


def _fluent_bit(path: str, view: ShipperView) -> None:
    if path.endswith((".yaml", ".yml")):
        data = load_yaml(path, view.diagnostics)
        pipeline = data.get("pipeline") if isinstance(data, Map) else None
        if not isinstance(pipeline, Map):
            view.error = "the Fluent Bit configuration has no readable `pipeline:`"
            return
        inputs = [{str(k).lower(): v for k, v in i.items()} for i in seq(pipeline.get("inputs"))
                  if isinstance(i, Map)]
        outputs = [{str(k).lower(): v for k, v in o.items()}
                   for o in seq(pipeline.get("outputs")) if isinstance(o, Map)]
    else:
        sections = _classic(path, view, depth=0)
        if sections is None:
            view.error = "the Fluent Bit configuration could not be read"
            return
        inputs = [s for n, s in sections if n == "input"]
        outputs = [s for n, s in sections if n == "output"]
    live_outputs = [o for o in outputs if str(o.get("name", "")).lower() not in _NULL_OUTPUTS]
    for entry in inputs:
        if str(entry.get("name", "")).lower() != "tail":
            continue
        patterns = [p.strip() for p in str(entry.get("path", "")).split(",") if p.strip()]
        if not any(covers_docker_logs(p) for p in patterns):
            continue
        tag = str(entry.get("tag", "tail.0"))
        if any(fnmatch.fnmatchcase(tag, str(o.get("match", "*"))) for o in live_outputs):
            view.rules.append(ShipRule(f"tail input {', '.join(patterns)}", all_containers=True,
                                       json_files_only=True))


def _classic(path: str, view: ShipperView, depth: int) -> list[tuple[str, dict]] | None:
    """The sections of a classic configuration, `@INCLUDE`s followed (bounded)."""
    import os

    text = read_text(path, view.diagnostics)
    if text is None:
        return None
    sections: list[tuple[str, dict]] = []
    current: dict | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.upper().startswith("@INCLUDE") and depth < 8:
            included = os.path.join(os.path.dirname(path), stripped.split(None, 1)[-1])
            for file in sorted(__import__("glob").glob(included)):
                sections.extend(_classic(file, view, depth + 1) or [])
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = {}
            sections.append((stripped[1:-1].strip().lower(), current))
            continue
        if current is not None:
            key, _, value = stripped.partition(" ")
            current[key.lower()] = value.strip()
    return sections
