"""Rules about default credentials (checklist 1.1.1), judged from `CredentialCheck` facts:
what the `creds` probe observed when it tried a service's published default credentials."""

from __future__ import annotations

from labwarden.model import Hit, Impact, Severity
from labwarden.rules.registry import prover, rule
from labwarden.sources.live.creds import CredentialCheck


@rule("CRD001", "default-credentials-accepted", Severity.CRITICAL,
      title="Service accepts its default credentials", on=CredentialCheck,
      checklist=["1.1.1"], refs=["CWE-1392", "CWE-521", "OWASP Top 10 A07:2021"],
      impact=Impact("service", (0, 5)))
def default_credentials_accepted(check: CredentialCheck, settings):
    """Reports a service that logged the audit in with its vendor's published default
    credentials (PostgreSQL postgres/postgres, Grafana admin/admin, Nginx Proxy Manager
    admin@example.com/changeme, RabbitMQ guest/guest…), or that let a user in without
    asking for any password (PostgreSQL `trust`). Checked only with
    `--check-default-credentials`, against the targets named on the command line, with at
    most three tries per service; the password is never shown.

    Why it matters:
    Default credentials are the first thing an attacker and every botnet tries: a Grafana
    or proxy manager still on admin/admin is an administrator account for anyone who can
    reach the login page, and a PostgreSQL superuser runs programs on the host through
    `COPY … FROM PROGRAM`.

    Example:
    `labwarden audit --check-default-credentials tcp://db.lab:5432` logs in as postgres with
    the password postgres.

    Fix:
    Change the password now (PostgreSQL: `ALTER ROLE postgres PASSWORD '…'` with a
    generated password of 16+ characters kept in the secrets store; Grafana: Profile →
    Change password, or `grafana cli admin reset-admin-password`; NPM: Users → Edit), and
    for PostgreSQL use `scram-sha-256` rather than `trust` in pg_hba.conf.
    """
    for username in check.no_password:
        yield Hit(f"{check.name} at {check.endpoint} lets user {username} in without any "
                  "password (trust authentication)", check.location,
                  resource=f"no-password:{username}", evidence=f"user {username}: no password "
                  "asked", fix="require a password: replace `trust` with `scram-sha-256` in "
                  "pg_hba.conf, set a strong password, reload PostgreSQL")
    for username in check.accepted:
        yield Hit(f"{check.name} at {check.endpoint} accepts the published default "
                  f"credentials of user {username}", check.location,
                  resource=f"default:{username}", evidence=f"user {username}: vendor default "
                  f"password accepted (entry {check.service} of default_credentials.yaml)")


# --- provers: what shows the items hold ---------------------------------------------------

@prover("CRD001", "1.1.1")
def default_logins_refused(check: CredentialCheck, settings):
    if check.error is not None or not check.attempts or check.accepted or check.no_password:
        return None
    return f"{check.name}: its vendor's default logins refused ({check.attempts} tried)"
