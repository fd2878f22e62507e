"""One step of the plan: where it runs, the commands in order, how to check it worked and
how to undo it.

Every command is one an operator can paste. A secret never appears: a new password is
generated into a file (mode 600) and read with `$(cat file)`; a database's current one is
read inside its container (`"$POSTGRES_PASSWORD"` in single quotes expands there).
Before anything changes, each file the step edits is kept next to itself
(`<file>.before-labwarden`): the rollback copies it back and runs the same `up -d`, which
starts the previous image again (still in the local cache: prune nothing until the check
passes).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from labwarden.remediation.graph import LabService

KEPT = ".before-labwarden"
PASSWORD_VAR = re.compile(r"PASS(WORD)?\b|PASS(WORD)?_|_PASS(WORD)?$|DBPASS", re.I)
# What a consumer's variable calls each engine: PAPERLESS_DBPASS is PostgreSQL's or MySQL's,
# never Redis's (PAPERLESS_REDIS_PASSWORD would be).
ENGINE_HINTS = {"postgres": re.compile(r"DB|PG|POSTGRES|SQL", re.I),
                "mysql": re.compile(r"DB|MYSQL|MARIA|SQL", re.I),
                "redis": re.compile(r"REDIS|CACHE|BROKER|VALKEY", re.I)}
ENGINE_VARS = {
    "postgres": ("POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE"),
    "mysql": ("MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD", "MARIADB_PASSWORD",
              "MARIADB_ROOT_PASSWORD", "MYSQL_PASSWORD_FILE", "MARIADB_PASSWORD_FILE"),
    "redis": ("REDIS_PASSWORD", "REDIS_PASS", "REQUIREPASS"),
}


@dataclass
class Step:
    phase: int
    stack: str                       # compose:<project>, host:<name>, proxy:…
    label: str                       # the stack as shown: paperless, host docker-01
    host: str | None                 # the inventory host it runs on
    address: str | None              # the host's address, from the inventory
    units: dict[str, str]            # unit -> action (units.ACTIONS)
    findings: list = field(default_factory=list)
    downtime: tuple[float, float] = (0.0, 0.0)
    basis: list[str] = field(default_factory=list)
    work: tuple[float, float] = (0.0, 0.0)
    commands: list[str] = field(default_factory=list)
    verify: list[str] = field(default_factory=list)
    rollback: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def restarts(self) -> str:
        """none | reload | stack | host: the most a step restarts."""
        actions = set(self.units.values())
        if actions & {"daemon", "reboot"}:
            return "host"
        if "recreate" in actions:
            return "stack"
        return "reload" if "reload" in actions else "none"

    @property
    def unit(self) -> str:
        return self.stack

    @property
    def changes(self) -> list[str]:
        return [f"{change_head(f)}: {change_fix(f)}" for f in self.findings]


def change_head(finding) -> str:
    """Which finding a change fixes, and where: `HIGH-001 [CMP010:4d4eacd011ab]
    compose.yaml:4` — the number for this report, the fingerprint for later."""
    return f"{finding.id} [{reference(finding)}] {finding.location}"


def reference(finding) -> str:
    """The finding's lasting name: its rule and fingerprint (rule, asset, resource), which
    stay the same when other findings come and go; `CRITICAL-002` does not."""
    return f"{finding.rule.id}:{finding.fingerprint[:12]}"


def change_fix(finding) -> str:
    """The change itself: the hit's fix, else the rule's documented one, without fences."""
    fix = (finding.fix or finding.rule.doc.fix).strip().replace("```yaml\n", "")
    return fix.replace("```", "").strip()


def fill(step: Step, lab) -> None:
    """Commands, checks and rollback of a step, by what it touches."""
    if step.stack.startswith("compose:"):
        _compose(step, lab)
    elif step.stack.startswith("host:"):
        _host(step, lab)
    elif step.stack.startswith(("proxy:", "endpoint:")):
        _proxy_outside(step)
    elif step.findings:
        step.commands.append("# edit: apply the changes listed above")


# -- Compose stacks -------------------------------------------------------------------

def _compose(step: Step, lab) -> None:
    services = lab.stack_services(step.stack)
    if not services:
        step.commands.append("# edit: apply the changes listed above")
        return
    directory = services[0].directory
    edited = _edited_files(step, directory, services[0].files)
    recreated = [u for u, a in step.units.items() if a == "recreate" and u in lab.services]
    reloaded = [u for u, a in step.units.items() if a == "reload" and u in lab.services]
    commands = [f"cd {_quote(directory)}"]
    commands += [f"cp -p {_quote(f)} {_quote(f + KEPT)}" for f in edited]
    images = [f for f in step.findings if f.rule.area == "IMG" and f.asset in recreated]
    if images:
        commands.append(f"docker compose images > images{KEPT}.txt   # the image IDs "
                        "running now, for a rollback from a moving tag")
    rotations = _rotations(step, lab)
    for rotation in rotations:
        commands += rotation.commands
    commands.append("# edit: apply the changes listed above"
                    + (f" ({', '.join(f.id for f in step.findings)})" if step.findings else ""))
    if recreated:
        commands.append("docker compose config --quiet   # the edited files are valid")
        if images:
            names = " ".join(sorted({lab.services[f.asset].name for f in images}))
            commands.append(f"docker compose pull {names}")
        first = _first(recreated, lab, rotations)
        if first:
            commands.append(f"docker compose up -d {' '.join(first)}   # what the others "
                            "use, first")
        commands.append("docker compose up -d   # recreates what changed, dependencies first")
    for unit in reloaded + _route_proxies(step, lab, reloaded):
        commands.append(_reload(lab.services[unit]))
    step.commands = commands
    step.verify = _compose_checks(step, lab, recreated, reloaded)
    rollback = [f"cd {_quote(directory)}"]
    rollback += [f"cp -p {_quote(f + KEPT)} {_quote(f)}" for f in edited]
    for rotation in rotations:
        rollback += rotation.rollback
    if images:
        rollback.append(f"# a moving tag: `docker tag <IMAGE ID from images{KEPT}.txt> "
                        "<image>` first")
    if recreated:
        rollback.append("docker compose up -d   # the previous definition and image")
    if _route_proxies(step, lab, []):
        rollback.append("# proxy routes: set them back in the proxy as noted before the change")
    step.rollback = rollback
    compose = _compose_command(directory, services[0].files)
    if compose != "docker compose":        # files Compose would not find by itself
        for lines in (step.commands, step.verify, step.rollback):
            lines[:] = [c.replace("docker compose ", compose + " ") for c in lines]


DEFAULT_FILES = {"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml",
                 "compose.override.yaml", "compose.override.yml",
                 "docker-compose.override.yaml", "docker-compose.override.yml"}


def _compose_command(directory: str, files: list[str]) -> str:
    """`docker compose`, with `-f` for each file when the project's files are not the ones
    Compose finds by itself in the directory (docker-compose-mariadb.yml)."""
    relative = [os.path.relpath(f, directory) if os.path.isabs(f) else os.path.basename(f)
                for f in files]
    if all(name in DEFAULT_FILES for name in relative) and len(relative) <= 2:
        return "docker compose"
    return "docker compose " + " ".join(f"-f {_quote(name)}" for name in relative)


def _edited_files(step: Step, directory: str, compose_files: list[str]) -> list[str]:
    """The files the step edits, relative to the project directory: the Compose files
    when anything is recreated, and every file a finding points to in the directory."""
    found: list[str] = []
    root = os.path.abspath(directory)
    paths = list(compose_files) if any(a == "recreate" for a in step.units.values()) else []
    paths += [f.location.path for f in step.findings]
    for path in paths:
        full = os.path.abspath(path)
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            continue
        if full.endswith((".sqlite", ".db", ".json")):     # a database, a scan report
            continue
        relative = os.path.relpath(full, root)
        if relative not in found:
            found.append(relative)
    return found


def _first(recreated: list[str], lab, rotations) -> list[str]:
    """Services to start before the rest: a rotated database, and what another recreated
    service uses without `depends_on` saying so (Compose would not wait for it)."""
    names = [r.database.name for r in rotations]
    for unit in recreated:
        service = lab.services[unit]
        for dependency in sorted(lab.dependencies(unit)):     # the same plan on every run
            if dependency in recreated and dependency not in service.depends_on:
                name = lab.services[dependency].name
                if name not in names:
                    names.append(name)
    return names


def _route_proxies(step: Step, lab, reloaded: list[str]) -> list[str]:
    """The proxies whose routes the step changes while it recreates them anyway: the
    route edits are still made in the proxy (its UI, its files), not in the Compose file."""
    found = []
    for finding in step.findings:
        if finding.asset.partition(":")[0] in ("npm", "traefik", "caddy") and "/" in finding.asset:
            label = finding.asset.split(":", 1)[1].split("/", 1)[0]
            unit = lab.proxies.get(label)
            if unit and unit not in reloaded and unit not in found:
                found.append(unit)
    return found


def _reload(service) -> str:
    image = (service.image or "").lower()
    if "caddy" in image:
        return f"docker compose exec {service.name} caddy reload --config /etc/caddy/Caddyfile"
    if "traefik" in image:
        return "# Traefik reads its dynamic configuration again by itself: no command"
    if "prometheus" in image or "alertmanager" in image:
        return f"docker compose kill -s SIGHUP {service.name}   # reads its configuration again"
    if service.kind != "proxy":
        return f"docker compose restart {service.name}   # reads its configuration again"
    return (f"# {service.name}: the proxy applies a saved proxy host at once (an nginx "
            "reload): no restart")


def _compose_checks(step: Step, lab, recreated: list[str], reloaded: list[str]) -> list[str]:
    checks = ["docker compose ps   # every service running (healthy, when it has a check)"]
    for unit in recreated:
        service = lab.services[unit]
        checks += _service_check(service)
    for finding in step.findings:
            if finding.asset.partition(":")[0] in ("npm", "traefik", "caddy") \
                    and "/" in finding.asset:
                domain = finding.asset.rsplit("/", 1)[-1]
                check = _route_check(domain, finding.rule.id)
                if check not in checks:
                    checks.append(check)
    checks += [c for c in _endpoint_checks(step.findings) if c not in checks]
    return checks


def _endpoint_checks(findings) -> list[str]:
    """A live endpoint's finding, checked as it was found: the certificate and protocol
    the TLS port offers, the headers the HTTP answer carries."""
    checks = []
    for finding in findings:
        kind, _, rest = finding.asset.partition(":")
        host, _, port = rest.split("/", 1)[0].rpartition(":")
        if kind == "tls" and host:
            checks.append(f"openssl s_client -connect {host}:{port} -servername "
                          f"{host.strip('[]')} </dev/null 2>/dev/null | openssl x509 -noout "
                          "-subject -enddate")
        elif kind == "http" and host:
            scheme = "http" if port == "80" else "https"
            checks.append(f"curl -sI {scheme}://{host}:{port}/ | head -20   # the headers")
    return [c for i, c in enumerate(checks) if c not in checks[:i]]


def _service_check(service) -> list[str]:
    name, env = service.name, service.environment
    if service.engine == "postgres":
        user = env.get("POSTGRES_USER") or "postgres"
        database = env.get("POSTGRES_DB") or user
        return [f"docker compose exec -T {name} psql -U {_quote(user)} -d {_quote(database)} "
                "-c 'select 1'"]
    if service.engine == "mysql":
        return [f"docker compose exec -T {name} sh -c 'mysqladmin ping -uroot "
                "-p\"${MARIADB_ROOT_PASSWORD:-$MYSQL_ROOT_PASSWORD}\"'"]
    if service.engine == "redis":
        return [f"docker compose exec -T {name} sh -c 'REDISCLI_AUTH=\"$REDIS_PASSWORD\" "
                "redis-cli ping'   # PONG"]
    return [f"curl -fsS -o /dev/null -w '%{{http_code}}\\n' {_quote(url)}"
            for url in service.urls]


def _route_check(domain: str, rule: str) -> str:
    if rule in ("PRX002",):                           # plain HTTP redirected
        return f"curl -sI http://{domain}/ | head -1   # 301 or 308"
    if rule in ("PRX003",):
        return f"curl -sI https://{domain}/ | grep -i strict-transport-security"
    return f"curl -sI https://{domain}/ | head -1"


# -- Password rotation ----------------------------------------------------------------

class Rotation:
    """A database password changed in the running database and in every consumer, in one
    step: the database first (its variable alone changes nothing once the data directory
    exists), each application after it."""

    def __init__(self, database: LabService, consumers: list[tuple[LabService, str, str]],
                 secret: str):
        self.database = database
        self.consumers = consumers          # (service, variable, file it is written in)
        self.secret = secret                # the new password's file, relative
        self.commands: list[str] = []
        self.rollback: list[str] = []


def _rotations(step: Step, lab) -> list[Rotation]:
    rotations = []
    for service in lab.stack_services(step.stack):
        if service.engine is None or service.asset not in step.units:
            continue
        consumers = consumers_of(service, lab)
        own = [f for f in step.findings if f.asset == service.asset and is_password(f)]
        used = [f for f in step.findings if is_password(f)
                and any(f.asset == c[0].asset and variable(f) == c[1] for c in consumers)]
        if not own and not used:
            continue
        # the file the rules' Docker-secret fix names (POSTGRES_PASSWORD: postgres_password)
        secret = f"secrets/{_password_var(service).lower()}.txt"
        rotation = Rotation(service, consumers, secret)
        _rotation_commands(rotation, service.directory)
        rotations.append(rotation)
        step.notes.append(f"{service.name}: a new {_password_var(service)} alone changes "
                          "nothing once the data directory exists; the commands change the "
                          "password in the running database first, then in every service "
                          "that uses it, in this one step")
    return rotations


def is_password(finding) -> bool:
    return finding.rule.area == "SEC" and finding.resource.startswith("env:") \
        and bool(PASSWORD_VAR.search(variable(finding)))


def variable(finding) -> str:
    return finding.resource.split(":", 1)[-1]


def consumers_of(database: LabService, lab) -> list[tuple[LabService, str, str]]:
    """The services that depend on `database` and hold a password variable for it."""
    found: list[tuple[LabService, str, str]] = []
    hint = ENGINE_HINTS.get(database.engine or "")
    if hint is None:
        return found
    for unit in lab.dependants(database.asset):
        service = lab.services.get(unit)
        if service is None:
            continue
        for name in sorted(service.environment):
            if PASSWORD_VAR.search(name) and hint.search(name):
                found.append((service, name, _written_in(service, name)))
    return found


def _written_in(service, variable: str) -> str:
    """The file the consumer's value lives in: the env file that sets it (where the loader
    found it), else `.env` when the Compose file takes it from a variable, else the
    Compose file."""
    place = service.places.get(variable, "")
    if place and place in service.env_files:
        return os.path.relpath(place, service.directory)
    dotenv = os.path.join(service.directory, ".env")
    written = service.written.get(variable, "")
    if "$" in written and os.path.isfile(dotenv):
        return ".env"
    return os.path.basename(service.files[0]) if service.files else "compose.yaml"


def _rotation_commands(rotation: Rotation, directory: str) -> None:
    db, secret = rotation.database, rotation.secret
    kept = f".{db.name}-password{KEPT}"
    env = db.environment
    commands = [f"mkdir -p secrets && (umask 077 && openssl rand -hex 32 > {secret})",
                f"(umask 077 && docker compose exec -T {db.name} sh -c "
                f"'printf %s \"${_password_var(db)}\"' > {kept})   # the current password, "
                "for a rollback"]
    if db.engine == "postgres":
        user = env.get("POSTGRES_USER") or "postgres"
        def sql(path: str) -> str:
            return (f"printf \"ALTER USER \\\"%s\\\" WITH PASSWORD '%s';\\n\" {_quote(user)} "
                    f"\"$(cat {path})\"")
        run = f"docker compose exec -T {db.name} psql -U {_quote(user)} -d " \
              f"{_quote(env.get('POSTGRES_DB') or user)}"
    elif db.engine == "mysql":
        user = env.get("MYSQL_USER") or env.get("MARIADB_USER") or "root"
        def sql(path: str) -> str:
            return (f"printf \"ALTER USER '%s'@'%%' IDENTIFIED BY '%s';\\n\" {_quote(user)} "
                    f"\"$(cat {path})\"")
        run = (f"docker compose exec -T {db.name} sh -c 'exec mysql -uroot "
               "-p\"${MARIADB_ROOT_PASSWORD:-$MYSQL_ROOT_PASSWORD}\"'")
    else:                                             # redis
        def sql(path: str) -> str:
            return f"printf 'CONFIG SET requirepass %s\\n' \"$(cat {path})\""
        run = (f"docker compose exec -T {db.name} sh -c "
               "'REDISCLI_AUTH=\"$REDIS_PASSWORD\" exec redis-cli'")
    # The statement holds values of the Compose file (a user may be `${DB_USER}`): it is
    # made by a function of the file, never by str.format, which would read their braces.
    commands.append(f"{sql(secret)} | {run}   # changes it in the running database")
    if db.engine == "mysql" and user != "root":
        commands.append("# the root password too, when it is rotated: the same statement for "
                        "'root'@'%' and 'root'@'localhost', then MYSQL_ROOT_PASSWORD_FILE")
    if db.engine == "redis":
        commands.append(f"# Redis ACL users: printf 'ACL SETUSER <user> resetpass >%s\\n' "
                        f"\"$(cat {secret})\" | {run}; and set the new password where the "
                        "Compose file starts redis-server (--requirepass or the ACL file)")
    for service, variable, path in rotation.consumers:
        if path in [os.path.relpath(f, service.directory) for f in service.files]:
            commands.append(f"# {service.name}: set {variable} in {path} to the new password "
                            f"(better: {variable}_FILE or a Docker secret reading {secret})")
            continue
        commands.append(f"sed -i \"s|^{variable}=.*|{variable}=$(cat {secret})|\" "
                        f"{_quote(path)}   # {service.name} uses the new password")
    if not rotation.consumers:
        commands.append(f"# no service of the tree uses {db.name}'s password: update every "
                        "client of it now")
    commands.append(f"# {db.name}: read the password from {secret} (a `*_FILE` variable "
                    "or a Docker secret), as the changes below say")
    rotation.commands = commands
    rotation.rollback = [f"{sql(kept)} | {run}   # the previous password"]


def _password_var(db) -> str:
    for name in ENGINE_VARS.get(db.engine or "", ()):
        if name in db.environment and not name.endswith("_FILE"):
            return name
    return {"postgres": "POSTGRES_PASSWORD", "mysql": "MYSQL_PASSWORD"}.get(
        db.engine or "", "REDIS_PASSWORD")


# -- Hosts and what runs outside the tree ---------------------------------------------

def _host(step: Step, lab) -> None:
    commands, verify, rollback = [], [], []
    for unit, action in sorted(step.units.items()):
        if unit.startswith("sshd:"):
            commands += [f"sudo cp -p /etc/ssh/sshd_config /etc/ssh/sshd_config{KEPT}",
                         "# edit: apply the sshd changes listed above",
                         "sudo sshd -t && sudo systemctl reload ssh   # keep this session "
                         "open until the check passes"]
            verify.append(f"ssh -o BatchMode=yes {_ssh_target(step.address)} true   # from "
                          "a second terminal, with your key")
            rollback += [f"sudo cp -p /etc/ssh/sshd_config{KEPT} /etc/ssh/sshd_config",
                         "sudo sshd -t && sudo systemctl reload ssh"]
        elif unit.startswith("firewall:"):
            commands += [f"sudo sh -c 'iptables-save > /root/iptables{KEPT}; "
                         f"nft list ruleset > /root/nftables{KEPT} 2>/dev/null'",
                         "# edit: apply the firewall changes listed above (in the DOCKER-USER "
                         "chain for container ports: a full reload flushes Docker's chains)"]
            verify.append("sudo iptables -S DOCKER-USER; docker compose ls   # the rules, "
                          "and every stack still up")
            rollback.append(f"sudo iptables-restore < /root/iptables{KEPT}")
        elif action == "daemon":
            commands += [f"sudo cp -p /etc/docker/daemon.json /etc/docker/daemon.json{KEPT}",
                         "# edit: apply the daemon changes listed above",
                         "sudo systemctl restart docker   # every container restarts"]
            verify.append("docker info --format '{{.ServerVersion}}' && docker ps")
            rollback += [f"sudo cp -p /etc/docker/daemon.json{KEPT} /etc/docker/daemon.json",
                         "sudo systemctl restart docker"]
        elif action == "reboot":
            commands += ["# edit: apply the changes listed above", "sudo systemctl reboot"]
            verify.append("uptime && docker ps   # back up, containers restarted")
            rollback.append("# restore the kept files and reboot again")
    if not commands:
        commands.append("# edit: apply the changes listed above")
    step.commands, step.verify, step.rollback = commands, verify, rollback


def _proxy_outside(step: Step) -> None:
    step.commands = ["# in the proxy (outside this tree): apply the changes listed above, "
                     "noting the current values first"]
    domains = sorted({f.asset.rsplit("/", 1)[-1] for f in step.findings if "/" in f.asset})
    step.verify = [_route_check(d, f.rule.id) for d in domains for f in step.findings[:1]]
    step.verify += _endpoint_checks(step.findings)
    step.rollback = ["# set the noted values back in the proxy"]


def _ssh_target(address: str | None) -> str:
    if address and address.startswith("ssh://"):
        return address[len("ssh://"):].split("/", 1)[0]
    return "<user>@<host>"


def _quote(text: str) -> str:
    if text and all(c.isalnum() or c in "@%+=:,./_-" for c in text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"
