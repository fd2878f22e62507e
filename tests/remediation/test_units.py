"""Every kind of asset maps to the unit that restarts or reloads for its fix: a Compose
service, an env file's users, the proxy (for a route), sshd or the firewall of a host from
the inventory, the Docker daemon, or nothing. The issue's bug was a route restarted as if
it were a service."""

from __future__ import annotations

from labwarden.model import Finding, Location
from labwarden.remediation.graph import Lab, LabService
from labwarden.remediation.roadmap import build
from labwarden.remediation.units import place
from labwarden.rules import registry


def finding(rule: str, asset: str, resource: str = "", path: str = "compose.yaml") -> Finding:
    found = registry.get(rule)
    assert found is not None
    return Finding(found, found.severity, "message", Location(path, 1), asset, resource)


def lab() -> Lab:
    lab = Lab(hosts={"docker-01": "ssh://admin@10.0.0.5"})
    for name, kind, env_files in (("npm", "proxy", []), ("app", "application", ["/x/app.env"])):
        project = "proxy" if name == "npm" else "web"
        service = LabService(asset=f"compose:{project}/{name}", project=f"compose:{project}",
                             name=name, directory=f"/x/{project}", files=["compose.yaml"],
                             image=None, kind=kind, env_files=env_files, host="docker-01")
        lab.services[service.asset] = service
    lab.proxies["proxy"] = "compose:proxy/npm"
    return lab


def test_a_route_reloads_its_proxy() -> None:
    where = place(finding("PRX002", "npm:proxy/portainer.lab.example", "force-https"), lab())
    assert where.stack == "compose:proxy" and where.units == {"compose:proxy/npm": "reload"}
    assert where.host == "docker-01"


def test_a_route_of_a_proxy_outside_the_tree_is_its_own_step() -> None:
    where = place(finding("PRX002", "npm:edge/site.example", "force-https"), lab())
    assert where.stack == "proxy:npm:edge" and where.units == {"proxy:npm:edge": "reload"}


def test_sshd_of_an_inventory_host_by_address() -> None:
    where = place(finding("SSH001", "ssh:10.0.0.5:22", "password"), lab())
    assert where.stack == "host:docker-01"
    assert where.units == {"sshd:docker-01": "reload"}


def test_an_env_file_restarts_the_services_that_read_it() -> None:
    found = finding("SEC002", "compose:web:app.env", "env:X")
    assert found.rule.impact.restarts == "service"
    where = place(found, lab())
    assert where.units == {"compose:web/app": "recreate"} and where.stack == "compose:web"


def test_a_file_mode_restarts_nothing() -> None:
    where = place(finding("SEC005", "compose:web:.env", "env-file-mode"), lab())
    assert where.stack == "compose:web" and where.units == {}


def test_the_docker_daemon_restarts_every_container_after_it() -> None:
    """A daemon restart restarts every container on its host: a container's own fix on
    that host waits for it (the daemon step comes first)."""
    the_lab = lab()
    daemon = finding("DKR040", "docker:docker-01", "tls")
    assert place(daemon, the_lab).units == {"host:docker-01": "daemon"}
    from labwarden.model import AuditResult

    container = finding("CMP010", "compose:web/app", "privileged")
    result = AuditResult([container, daemon], [], ["."])
    roadmap = build(result, the_lab)
    assert roadmap.violations() == []
    order = [s.stack for p in roadmap.phases for s in p.steps]
    assert order.index("host:docker-01") < order.index("compose:web")


def test_a_tls_endpoint_is_checked_with_openssl() -> None:
    """With one proxy in the lab, a TLS endpoint's fix is the proxy's (a reload), and the
    step checks what the port offers afterwards."""
    found = finding("TLS001", "tls:grafana.lab.example:443", "protocol")
    the_lab = lab()
    assert place(found, the_lab).units == {"compose:proxy/npm": "reload"}
    from labwarden.model import AuditResult

    roadmap = build(AuditResult([found], [], ["."]), the_lab)
    step = next(s for p in roadmap.phases for s in p.steps)
    assert step.stack == "compose:proxy"
    assert "openssl s_client -connect grafana.lab.example:443 -servername grafana.lab.example" \
        " </dev/null 2>/dev/null | openssl x509 -noout -subject -enddate" in step.verify


def test_a_proxy_outside_the_tree_goes_after_its_upstreams() -> None:
    """The proxy facts' upstreams order a proxy the tree does not run too: its route fix
    waits for the service it forwards to."""
    from labwarden.model import AuditResult
    from labwarden.remediation.graph import _proxy_edges
    from labwarden.sources.proxy.model import ProxyRoute, Upstream
    from labwarden.sources.proxy.workload import Workload

    the_lab = lab()
    app = Workload("/x/web", "web", "web", "app", None, None)
    route = ProxyRoute("npm", "edge", "app.example", upstreams=[
        Upstream("http://app:80", "app", 80, app, "service name")])
    _proxy_edges(the_lab, [("lab:", route.asset, route)])
    assert the_lab.dependencies("proxy:npm:edge") == {"compose:web/app"}
    # the route's fix is HIGH (phase 3), the app's LOW (phase 4): the app moves forward
    found = [finding("PRX002", "npm:edge/app.example", "force-https"),
             finding("CMP073", "compose:web/app", "logging")]
    roadmap = build(AuditResult(found, [], ["."]), the_lab)
    assert roadmap.violations() == []
    order = [(p.number, s.stack) for p in roadmap.phases for s in p.steps]
    assert order == [(3, "compose:web"), (3, "proxy:npm:edge")]
