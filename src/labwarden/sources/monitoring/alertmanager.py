"""Alertmanager as an `AlertmanagerView`: its receivers and the ones its route tree reaches,
from alertmanager.yml or from the API (`/api/v2/status` carries the loaded configuration as
text, its secrets already masked by Alertmanager).

A receiver with no `*_configs` entry is a black hole: alerts routed there are dropped
silently, which is how Alertmanager is told to send nothing.
"""

from __future__ import annotations

from labwarden.model import Diagnostic, Location
from labwarden.sources.monitoring.facts import AlertmanagerView, Receiver
from labwarden.sources.monitoring.paths import load_yaml, seq
from labwarden.sources.yamlfile import Map, Seq

DEFAULT_CONFIG = "/etc/alertmanager/alertmanager.yml"


def from_config(path: str) -> AlertmanagerView:
    view = AlertmanagerView(where=path, via="config", location=Location(path, 1))
    data = load_yaml(path, view.diagnostics)
    _fill(view, data, Location(path, 1))
    return view


def from_api(where: str, status: dict) -> AlertmanagerView:
    """The view from `/api/v2/status`: the configuration it runs, as YAML text."""
    from labwarden.sources.yamlfile import YamlLoadError, parse_yaml

    view = AlertmanagerView(where=where, via="api", location=Location(where))
    original = (status.get("config") or {}).get("original")
    if not isinstance(original, str):
        view.error = "the status answer carries no configuration"
        return view
    try:
        documents, _ = parse_yaml(original, where)
    except YamlLoadError as exc:
        view.error = f"its configuration is not YAML: {exc.message}"
        return view
    _fill(view, documents[0] if documents else None, Location(where))
    for receiver in view.receivers:     # the API has no file to point at
        receiver.location = Location(where)
    return view


def _fill(view: AlertmanagerView, data, where: Location) -> None:
    if data is None:
        view.error = view.error or "alertmanager.yml could not be read"
        return
    if not isinstance(data, Map):
        view.error = "alertmanager.yml is not a mapping"
        view.diagnostics.append(Diagnostic("error", "unreadable-config", view.error, where))
        return
    receivers = data.get("receivers")
    for index, entry in enumerate(seq(receivers)):
        if not isinstance(entry, Map) or entry.get("name") is None:
            continue
        integrations = tuple(key for key, value in entry.items()
                             if key.endswith("_configs") and isinstance(value, list) and value)
        view.receivers.append(Receiver(str(entry["name"]), integrations,
                                       receivers.loc_of(index)
                                       if isinstance(receivers, Seq) else None))
    if "receivers" in data:
        view.location = data.loc_of("receivers")
    route = data.get("route")
    if isinstance(route, Map):
        view.routed = list(dict.fromkeys(_routed(route, None)))
    else:
        view.error = "no `route:`: Alertmanager refuses to start without one"


def _routed(route: Map, inherited: str | None) -> list[str]:
    """Every receiver the tree can deliver to; a child without `receiver` uses its
    parent's."""
    own = route.get("receiver")
    receiver = str(own) if own is not None else inherited
    found = [receiver] if receiver is not None else []
    for child in seq(route.get("routes")):
        if isinstance(child, Map):
            found.extend(_routed(child, receiver))
    return found
