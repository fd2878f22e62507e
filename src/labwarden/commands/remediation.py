"""`labwarden roadmap`: the phased remediation plan for the open findings of an audit."""

from __future__ import annotations

import json
import sys


def register(commands) -> None:
    roadmap = commands.add_parser("roadmap", help="the phased remediation plan with "
                                  "downtime estimates")
    roadmap.add_argument("paths", nargs="*", metavar="PATH", default=None,
                         help="directories or Compose files to audit (default: the current "
                         "directory)")
    roadmap.add_argument("--format", choices=("terminal", "json", "markdown"),
                         default="terminal", help="output format (default: terminal)")
    roadmap.add_argument("--config", metavar="FILE", help="labwarden.yaml (default: found "
                         "beside the first path or in its parents)")
    roadmap.set_defaults(handler=cmd_roadmap)


def restart_minutes(raw, key: str = "restart_minutes") -> dict[str, tuple[float, float]]:
    """`remediation.<key>` of labwarden.yaml: a name or glob -> [low, high] minutes."""
    from labwarden.config import ConfigError
    from labwarden.sources.yamlfile import Map, Seq

    spec = raw.get("remediation")
    if spec is None:
        return {}
    table = spec.get(key) if isinstance(spec, Map) else None
    result = {}
    for pattern, span in (table or {}).items():
        if not (isinstance(span, Seq) and len(span) == 2
                and all(isinstance(v, (int, float)) for v in span) and 0 <= span[0] <= span[1]):
            raise ConfigError(f"{key} for {pattern!r} must be [low, high] minutes",
                              table.loc_of(pattern))
        result[str(pattern)] = (float(span[0]), float(span[1]))
    return result


def build_roadmap(paths: list[str], config, result):
    from labwarden.config import ConfigError
    from labwarden.remediation.downtime import KINDS, Estimator
    from labwarden.remediation.graph import load_lab
    from labwarden.remediation.roadmap import build

    lab = load_lab(paths, config, result.facts)
    kinds = restart_minutes(config.raw, "recreate_minutes")
    for kind in kinds:
        if kind not in KINDS:
            raise ConfigError(f"recreate_minutes: unknown kind of image {kind!r} (known: "
                              f"{', '.join(KINDS)})",
                              config.raw["remediation"].loc_of("recreate_minutes"))
    return build(result, lab, Estimator(lab, kinds, restart_minutes(config.raw)))


def cmd_roadmap(args) -> int:
    """Exit 0 with the plan; 2 when part of the input could not be audited (the plan would
    miss its findings), after printing the plan for what could."""
    from labwarden.commands.common import nothing_checked
    from labwarden.config import find_config, load_config
    from labwarden.audit import AuditOptions, run
    from labwarden.remediation.roadmap import render_markdown, render_text, to_json

    paths = args.paths or ["."]
    config = load_config(args.config or find_config(paths))
    # The proxy facts name each route's upstream services: the plan orders the proxy
    # after them.
    result = run(paths, AuditOptions(config=config, keep_facts=True))
    nothing_checked(result, paths, "Compose file", result.projects)
    roadmap = build_roadmap(paths, config, result)
    if args.format == "json":
        text = json.dumps(to_json(roadmap), indent=2)
    elif args.format == "markdown":
        text = render_markdown(roadmap)
    else:
        text = render_text(roadmap)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    for error in result.errors:
        sys.stderr.write(f"labwarden: not checked, so not in the roadmap: {error}\n")
    return 2 if result.errors else 0
