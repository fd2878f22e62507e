"""What each page shows: plain functions from the lab (and the request's query) to a template
name and its values. They read through the CLI's modules: the evaluation (`LabContext`), the
gate (`decide`), the record (`render_record`), the roadmap, the history (`Store`)."""

from __future__ import annotations

import datetime as dt
import os

from labwarden.console import charts

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
STATUSES = ("OPEN", "FAIL", "ATTESTED", "PASS", "N/A")
RISK_ORDER = {"Unacceptable": 0, "High": 1, "Medium": 2, "Low": 3}
EXPIRING_DAYS = 30


class NotFound(Exception):
    pass


def environment(folder: str):
    """Jinja with autoescape on for every template: whatever a note says is text."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["percent"] = _percent
    env.filters["safe_link"] = safe_link
    env.globals["when"] = _when
    return env


def safe_link(text: str) -> str | None:
    """An evidence link worth making clickable: http(s) only (never javascript:)."""
    text = (text or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else None


def _percent(value: float) -> str:
    from labwarden.checklist.score import format_percent

    return format_percent(value)


def _when(epoch: float | None) -> str:
    if not epoch:
        return "never"
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _service(lab, name: str):
    evaluation = lab.evaluations().get(name)
    if evaluation is None:
        raise NotFound(f"no service {name!r} in the inventory")
    return evaluation


def _history(lab, service: str | None, limit: int = 30) -> list:
    return _histories(lab, [service], limit).get(service, [])


def _histories(lab, services: list, limit: int = 30) -> dict:
    """Each service's last runs, from one opening of the history (none yet: empty)."""
    from labwarden.store import Store, StoreError

    path = lab.inventory.history_path
    if not os.path.exists(path):
        return {}
    try:
        with Store(path) as store:
            return {name: store.runs(name, limit=limit) for name in services}
    except StoreError:
        return {}


def _open_findings(evaluation) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in evaluation.findings:
        if not finding.waived:
            counts[finding.severity.name] += 1
    return counts


# --- overview ------------------------------------------------------------------------------

def overview(lab, request):
    evaluations = lab.evaluations()
    rows = []
    attention = []
    histories = _histories(lab, list(evaluations))
    for name, evaluation in evaluations.items():
        decision = lab.decide(evaluation)
        runs = histories.get(name, [])
        rows.append({"name": name, "risk": evaluation.score.risk,
                     "score": evaluation.score.overall.percent,
                     "allowed": decision.allowed, "findings": _open_findings(evaluation),
                     "host": evaluation.service.host.name if evaluation.service.host else "",
                     "last_run": runs[-1].started if runs else "",
                     "spark": charts.sparkline([r.score for r in runs if r.score is not None]),
                     "open": sum(1 for r in evaluation.items if r.status.value == "OPEN")})
        results = evaluation.by_id()
        for item_id in decision.blocking:
            result = results[item_id]
            if result.status.value == "FAIL":
                attention.append({"service": name, "item": result.item,
                                  "status": result.status.value, "note": result.note})
    rows.sort(key=lambda r: (RISK_ORDER.get(r["risk"], 9), r["score"], r["name"]))
    attention.sort(key=lambda a: (-a["item"].severity.value, a["service"], a["item"].id))
    hosts = []
    for host in lab.inventory.hosts.values():
        mine = [r for r in rows if r["host"] == host.name]
        hosts.append({"name": host.name, "address": host.address,
                      "type": host.deployment_type, "services": [r["name"] for r in mine],
                      "worst": min((r["risk"] for r in mine),
                                   key=lambda k: RISK_ORDER.get(k, 9), default="")})
    return "overview.html.j2", {"rows": rows, "hosts": hosts, "attention": attention[:12],
                                "attention_total": len(attention)}


# --- the checklist walk -------------------------------------------------------------------

def walk(lab, request):
    name = request.path_params["name"]
    evaluation = _service(lab, name)
    wanted = [s for s in request.query_params.getlist("status") if s in STATUSES]
    expiring = request.query_params.get("expiring") == "1"
    today = lab.today
    soon = today + dt.timedelta(days=EXPIRING_DAYS)
    results = evaluation.by_id()
    sections = []
    for section in lab.catalog.sections:
        rows = []
        for item in section.items:
            result = results[item.id]
            attestation = result.attestation
            expires = attestation.expires if attestation else ""
            is_expiring = bool(expires) and dt.date.fromisoformat(expires) <= soon
            if wanted and result.status.value not in wanted:
                continue
            if expiring and not is_expiring:
                continue
            rows.append({"result": result, "status": result.status.value,
                         "attestation": attestation, "expiring": is_expiring,
                         "answerable": result.status.value in ("OPEN", "ATTESTED")
                         or (result.status.value == "PASS")})
        if rows:
            tally = evaluation.score.sections[section.id]
            sections.append({"section": section, "rows": rows, "tally": tally})
    decision = lab.decide(evaluation)
    service = evaluation.service
    back = "&".join([f"status={s.replace('/', '%2F')}" for s in wanted]
                    + (["expiring=1"] if expiring else []))
    return "walk.html.j2", {"evaluation": evaluation, "service": service,
                            "sections": sections, "decision": decision, "wanted": wanted,
                            "expiring": expiring, "statuses": STATUSES, "back": back,
                            "host": service.host.name if service.host else "",
                            "today": today.isoformat(), "counts": _status_counts(evaluation)}


def _status_counts(evaluation) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for result in evaluation.items:
        counts[result.status.value] += 1
    return counts


# --- sign-off and record ------------------------------------------------------------------

def signoff(lab, request):
    from labwarden.checklist.attest import METHODS, ROLES, STATUSES as DEPLOYED
    from labwarden.checklist.records import render_record

    name = request.path_params["name"]
    evaluation = _service(lab, name)
    decision = lab.decide(evaluation)
    approvals = []
    for role in ROLES:
        approval = evaluation.record.approvals.get(role)
        judged = decision.signoff if role == "security_reviewer" else None
        approvals.append({"role": role, "approval": approval, "judged": judged})
    records_dir = lab.inventory.records_dir
    archived = []
    if os.path.isdir(records_dir):
        archived = sorted(f for f in os.listdir(records_dir)
                          if f.startswith(f"{name}-") and f.endswith(".md"))
    preview = render_record(evaluation, lab.catalog, decision)
    return "signoff.html.j2", {"evaluation": evaluation, "decision": decision,
                               "approvals": approvals, "archived": archived,
                               "preview": preview, "roles": ROLES, "methods": METHODS,
                               "deployed": DEPLOYED, "name": name,
                               "deployment": evaluation.record.deployment}


# --- findings, waivers, roadmap -----------------------------------------------------------

def findings(lab, request):
    query = request.query_params
    severities = [s for s in query.getlist("severity") if s in SEVERITIES]
    service = query.get("service", "")
    text = query.get("q", "").strip().lower()
    show_waived = query.get("waived") == "1"
    result = lab.result
    evaluations = lab.evaluations()
    pool = evaluations[service].findings if service in evaluations else result.findings
    shown = [f for f in pool
             if (not severities or f.severity.name in severities)
             and (show_waived or not f.waived)
             and (not text or text in f"{f.id} {f.rule.id} {f.asset} {f.message}".lower())]
    today = lab.today
    waivers = []
    for waiver in lab.context.config.waivers:
        expires = waiver.expires
        waivers.append({"waiver": waiver,
                        "scope": waiver.service or waiver.path or waiver.host
                        or waiver.host_group or "",
                        "expired": expires is not None and expires < today,
                        "days": (expires - today).days if expires else None})
    roadmap = lab.roadmap()
    return "findings.html.j2", {"findings": shown, "total": len(pool),
                                "severities": SEVERITIES, "wanted": severities,
                                "service": service, "services": list(evaluations), "q": text,
                                "waived": show_waived, "waivers": waivers,
                                "roadmap": roadmap}


# --- history ----------------------------------------------------------------------------

def history(lab, request):
    from labwarden.store import Store, StoreError

    query = request.query_params
    names = list(lab.inventory.services)
    service = query.get("service", "")
    histories = _histories(lab, names, limit=60)
    lab_series = [(name, [r.score for r in histories.get(name, []) if r.score is not None])
                  for name in names]
    score_chart = charts.line_chart(lab_series, [], "score of every service over its runs")
    runs = _history(lab, service, limit=60) if service in names else []
    service_charts = None
    diff = None
    error = ""
    if runs:
        labels = [r.started[:16] for r in runs]
        service_charts = (
            charts.line_chart([(service, [r.score or 0.0 for r in runs])], labels,
                              f"score of {service}"),
            charts.line_chart([(service, [charts.risk_value(r.risk) for r in runs])], labels,
                              f"risk of {service}", low=0.0, high=3.0,
                              ticks=charts.risk_ticks()))
        old, new = _run_id(query.get("a")), _run_id(query.get("b"))
        if old is None and new is None and len(runs) >= 2:
            old, new = runs[-2].id, runs[-1].id
        if old is not None and new is not None:
            try:
                with Store(lab.inventory.history_path) as store:
                    diff = store.diff(old, new, service=service)
            except StoreError as exc:
                error = str(exc)
            except Exception as exc:             # Store.diff refuses runs of two services
                error = str(exc)
        return "history.html.j2", {"service": service, "names": names, "runs": runs,
                                   "score_chart": score_chart, "charts": service_charts,
                                   "diff": diff, "a": old, "b": new, "error": error}
    return "history.html.j2", {"service": service, "names": names, "runs": runs,
                               "score_chart": score_chart, "charts": None, "diff": None,
                               "a": None, "b": None, "error": error}


def _run_id(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 19 else None


# --- the audit and the log --------------------------------------------------------------

def audit_status(lab, request):
    return "audit.html.j2", {"status": lab.status}


def log(lab, request):
    from labwarden.console import auditlog

    return "log.html.j2", {"entries": list(reversed(auditlog.entries(lab.state_dir)))}
