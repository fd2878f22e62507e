"""Rules about secrets: credentials written into Compose files, default and weak passwords,
secrets in plain environment variables, and how env files are protected.

One variable, at most two findings. Every secret a service receives (a secret-named
variable, the password inside a connection URL, or a credential on its command line such
as `--requirepass …`) is judged on two axes:

- its *quality*: SEC002 when it is a well-known default, placeholder or guessable value,
  otherwise SEC007 when it is shorter than the policy's 16 characters — never both;
- its *storage*: SEC001 (SEC003 for a URL) when the value is written literally in the
  Compose file; otherwise SEC004 when it travels as a plain environment variable although
  the image can read it from a file — but SEC004 only speaks when no other SEC rule did, so
  a variable already reported for a bad value is not also nagged about `_FILE`.

So a literal `changeme` gets SEC001 + SEC002, a `${VAR}` resolved to a 10-character value
gets SEC007 alone, and a strong `${VAR}` on the postgres image gets SEC004 alone. Values are
never printed: evidence goes through `redact()`/`redact_url()`, messages name variables only.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from labwarden._record import Record
from labwarden.model import Hit, Impact, Location, Severity
from labwarden.redact import redact, redact_assignment, redact_url, url_password
from labwarden.knowledge import images as _images
from labwarden.knowledge import secrets as data
from labwarden.knowledge.apps import settings_for
from labwarden.rules._shell import shell_words
from labwarden.rules._prove import by_silence, runnable
from labwarden.rules._memo import for_last
from labwarden.rules.registry import prover, rule
from labwarden.sources.compose.model import EnvValue, Service
from labwarden.sources.envfile import EnvFile
from labwarden.sources.yamlfile import Map, Seq

TYPE_CHECKING = False       # typing stays off the start-up path
if TYPE_CHECKING:
    from typing import Any

_URL = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://(?P<user>[^:/@\s]*):"
                  r"(?P<password>[^@/\s]+)@")
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_USER_WORDS = frozenset({"USER", "USERNAME", "LOGIN", "USER_NAME"})
SAME_AS_USER = "the same as the user name"      # SEC008's, not SEC002's


class Secret(Record):
    """One secret a service receives, and what is known about it."""

    __slots__ = ("env", "value", "in_url", "literal", "location", "default", "weak", "hashed",
                 "token")

    def __init__(self, env: EnvValue, value: str, in_url: bool, literal: bool, location: Location,
                 default: str | None, weak: bool, hashed: bool, token: bool = False):
        self.env = env
        self.value = value                # the secret: the whole value, or the password of a URL
        self.in_url = in_url              # the password of a connection URL
        self.literal = literal            # written literally in a Compose file
        self.location = location          # where the value is written (Compose, .env or env_file)
        self.default = default            # why it is a known default, else None
        self.weak = weak                  # shorter than the policy's minimum (and not a default)
        self.hashed = hashed              # a password hash, not the password
        self.token = token                # a notification/webhook URL's token (in_url too)

    @property
    def argument(self) -> bool:
        """Passed on the command line (`command:`, `entrypoint:`, `healthcheck.test`)."""
        return self.env.origin not in ("environment", "env_file", "labels")

    @property
    def in_label(self) -> bool:
        return self.env.origin == "labels"

    @property
    def resource(self) -> str:
        if self.argument:
            return f"arg:{self.env.origin}:{self.env.name}"
        if self.in_label:
            return f"label:{self.env.name}" + (":url" if self.in_url else "")
        return f"env:{self.env.name}" + (":url" if self.in_url else "")

    @property
    def label(self) -> str:
        if self.argument:
            where = f"`{self.env.name}` in `{self.env.origin}`"
        elif self.in_label:
            where = f"label `{self.env.name}`"
        else:
            where = f"`{self.env.name}`"
        if not self.in_url:
            return where
        return f"the {'token' if self.token else 'password'} in {where}"

    @property
    def evidence(self) -> str:
        if self.token:
            hidden = f"…({len(self.value)} chars)" if self.default else redact(self.value)
            return f"{self.env.name}={(self.env.value or '').replace(self.value, hidden)}"
        if self.default:
            # Next to "is a well-known default", even a two-character prefix gives it away.
            hidden = f"…({len(self.value)} chars)"
            if self.in_url:
                # A password equal to its user name: the user name would give it away.
                same = self.default == SAME_AS_USER
                return f"{self.env.name}=" + _URL.sub(
                    lambda m: f"{m.group('scheme')}://"
                              f"{'…' if same else m.group('user')}:{hidden}@",
                    self.env.value or "")
            return f"{self.env.name}={hidden}"
        if self.in_url:
            return f"{self.env.name}={redact_url(self.env.value or '')}"
        return redact_assignment(self.env.name, self.value)


# --- analysis shared by the service rules --------------------------------------------------

@for_last
def secrets_of(service: Service) -> list[Secret]:
    """Every secret the service receives, analysed once (the four service rules share it)."""
    found = []
    users = _user_values(service)
    for env in service.environment.values():
        value = env.value
        # Most variables are neither secret-named nor URLs: `_secret` would find nothing.
        if not value or not isinstance(value, str) or \
                ("://" not in value and not data.is_secret_name(env.name)):
            continue
        secret = _secret(service, env, users)
        if secret is not None:
            found.append(secret)
    found.extend(_argument_secrets(service, users))
    if service.raw.get("labels") is not None:
        found.extend(_label_secrets(service, users))
    return found


def _secret(service: Service, env: EnvValue, users: set[str]) -> Secret | None:
    value = env.value
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]     # `- KEY="x"`: list-form quotes are part of the value
    if not value or not isinstance(value, str):
        return None             # unset, passed through from the shell, or an empty ${VAR}
    url = _URL.search(value) if "://" in value and "@" in value else None
    token = data.url_token(value) if url is None and "://" in value else None
    if url is not None:
        secret, in_url = url.group("password"), True
        users = users | {url.group("user").lower()}
    elif token is not None:
        secret, in_url = token[1], True
    elif data.is_secret_name(env.name) and not data.is_setting_value(value) \
            and not _is_identifier_half(service, env.name):
        secret, in_url = value, False
    else:
        return None
    literal, location = _provenance(service, env, secret, in_url)
    hashed = not in_url and data.is_password_hash(secret)
    default = None if hashed else _default_reason(service, secret, users)
    weak = not hashed and default is None and len(secret) < data.MIN_SECRET_LENGTH
    return Secret(env, secret, in_url, literal, location, default, weak, hashed,
                  token=token is not None)


# --- credentials on the command line --------------------------------------------------------
# `command:`, `entrypoint:` and `healthcheck.test` are shown by `docker inspect` and `ps` like
# the environment: `redis-server --requirepass x`, `PGPASSWORD=x psql`, `mysqladmin -px`.

_ARGUMENT_KEYS = (("command",), ("entrypoint",), ("healthcheck", "test"))
_FLAG_WORDS = frozenset({"REQUIREPASS", "MASTERAUTH"})
_MYSQL = frozenset({"mysql", "mysqladmin", "mysqldump", "mysqlcheck", "mysqlsh", "mariadb",
                    "mariadb-admin", "mariadb-dump", "mariadb-check"})
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)\Z", re.S)


def _argument_tokens(service: Service, keys: tuple) -> list[tuple[str, Location, str]]:
    """(token, location, text of the item as written) for one argument list."""
    if keys[0] not in service.raw:
        return []               # most services: no such key
    value = service.path(*keys)
    if value is None:
        return []
    if isinstance(value, Seq):
        own = value.written or {}
        items = [(str(v), value.loc_of(i), own.get(i, str(v)))
                 for i, v in enumerate(value) if isinstance(v, (str, int, float))]
    elif isinstance(value, str):
        parent = service.path(*keys[:-1]) if len(keys) > 1 else service.raw
        written = getattr(parent, "written", None) or {}
        items = [(value, service.loc(*keys), written.get(keys[-1], value))]
    else:
        return []
    tokens = []
    for text, loc, as_written in items:
        # A string, or a list item holding a shell line (`sh -c "…"`, CMD-SHELL), is split
        # the way the shell will split it.
        parts = shell_words(text) if isinstance(value, str) or " " in text else [text]
        tokens.extend((part, loc, as_written) for part in parts)
    return tokens


def _argument_secrets(service: Service, users: set[str]) -> list[Secret]:
    found = []
    for keys in _ARGUMENT_KEYS:
        tokens = _argument_tokens(service, keys)
        if not tokens:
            continue
        programs = {t.rsplit("/", 1)[-1] for t, _, _ in tokens}
        mysql, redis = bool(programs & _MYSQL), "redis-cli" in programs
        for index, (token, loc, as_written) in enumerate(tokens):
            following, next_loc, next_written = tokens[index + 1] if index + 1 < len(tokens) \
                else (None, loc, "")
            name = value = None
            separate = False              # the value is the next token
            assignment = _ASSIGNMENT.match(token)
            if assignment and data.is_secret_name(assignment.group(1)):
                name, value = assignment.group(1), assignment.group(2)
            elif mysql and token.startswith("-p") and len(token) > 2 and token[2] != "-":
                name, value = "-p", token[2:]
            elif redis and token == "-a":
                name, value, separate = "-a", following, True
            elif token.startswith("-") and len(token) > 2:
                flag, eq, inline = token.lstrip("-").partition("=")
                word = flag.upper().replace("-", "_").replace(".", "_")
                if word in _FLAG_WORDS or data.is_secret_name(word) and \
                        not word.startswith("NO_"):
                    name = token.split("=", 1)[0]
                    value = inline if eq else (following if following and
                                               not following.startswith("-") else None)
                    separate = not eq
            if name is None and "://" in token:
                url_secret = _argument_urls(token, loc, as_written, ".".join(keys),
                                            service, users)
                if url_secret is not None:
                    found.append(url_secret)
                continue
            if separate:
                loc, as_written = next_loc, next_written
            if not value or "$" in value or data.is_setting_value(value) \
                    or value not in as_written:     # from a ${VARIABLE}, or the shell's
                continue
            env = EnvValue(name, value, loc, origin=".".join(keys))
            default = _default_reason(service, value, users)
            found.append(Secret(env, value, False, True, loc, default,
                                default is None and len(value) < data.MIN_SECRET_LENGTH, False))
    return found


def _label_secrets(service: Service, users: set[str]) -> list[Secret]:
    """Secrets in `labels:` (a secret-named key, a credential inside a URL): labels are
    shown by `docker inspect` and to every service that reads the Docker API."""
    labels = service.raw.get("labels")
    # (key, value, the label's key or index in `labels`, its value as written)
    pairs: list[tuple[str, str, Any, str | None]] = []
    if isinstance(labels, Map):
        written = labels.written or {}
        pairs = [(str(k), str(v), k, written.get(k)) for k, v in labels.items()
                 if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    elif isinstance(labels, Seq):
        written = labels.written or {}
        for index, item in enumerate(labels):
            key, sep, value = str(item).partition("=")
            if sep:
                as_written = written.get(index)
                pairs.append((key, value, index,
                              None if as_written is None else as_written.partition("=")[2]))
    else:
        return []
    found = []
    for key, value, ref, as_written in pairs:
        if not value or "$" in (as_written or ""):
            continue            # a ${VARIABLE}: kept elsewhere, as SEC001 wants
        url = _URL.search(value) if "://" in value and "@" in value else None
        token = data.url_token(value) if url is None and "://" in value else None
        if url is not None:
            secret, in_url = url.group("password"), True
        elif token is not None:
            secret, in_url = token[1], True
        elif data.is_secret_name(key.rsplit(".", 1)[-1]) and not data.is_setting_value(value) \
                and not data.is_password_hash(value):
            secret, in_url = value, False
        else:
            continue
        loc = labels.loc_of(ref) or service.loc("labels")   # the few labels that are secrets
        env = EnvValue(key, value, loc, origin="labels")
        default = _default_reason(service, secret, users)
        found.append(Secret(env, secret, in_url, True, loc, default,
                            default is None and len(secret) < data.MIN_SECRET_LENGTH, False,
                            token=token is not None))
    return found


def _argument_urls(token: str, loc: Location, as_written: str, origin: str,
                   service: Service, users: set[str]) -> Secret | None:
    """A connection or notification URL with its credential on a command line
    (`--dsn postgres://u:p@db/app`, `--notify discord://TOKEN@ID`)."""
    url = _URL.search(token) if "@" in token else None
    found = data.url_token(token) if url is None else None
    if url is not None:
        scheme, secret = url.group("scheme"), url.group("password")
    elif found is not None:
        scheme, secret = found
    else:
        return None
    if "$" in secret or secret not in as_written:
        return None
    name = scheme + " URL"
    env = EnvValue(name, token, loc, origin=origin)
    default = _default_reason(service, secret, users | (
        {url.group("user").lower()} if url else set()))
    return Secret(env, secret, True, True, loc, default,
                  default is None and len(secret) < data.MIN_SECRET_LENGTH, False,
                  token=found is not None)


def _user_values(service: Service) -> set[str]:
    users = set()
    for env in service.environment.values():
        if env.value and _names_a_user(env.name):
            users.add(env.value.lower())
    return users


@lru_cache(maxsize=4096)
def _names_a_user(name: str) -> bool:
    """`POSTGRES_USER`, `DB_USERNAME`, `ADMIN_LOGIN`: a variable that holds a user name. The
    same few names recur in every project, so each is split into words once."""
    parts = data.words(name)
    return bool(parts) and parts[-1] in _USER_WORDS


def _default_reason(service: Service, secret: str, users: set[str]) -> str | None:
    reason = data.default_reason(secret)
    if reason:
        return reason
    lowered = secret.lower()
    if lowered in users:
        return SAME_AS_USER
    if lowered in (service.name.lower(), _images.name(service.image)):
        return "the name of the service"
    return None


def _is_identifier_half(service: Service, name: str) -> bool:
    """`MINIO_ACCESS_KEY` next to `MINIO_SECRET_KEY` is the user name of an S3-style pair."""
    upper = name.upper()
    if "ACCESS_KEY" not in upper and "ACCESSKEY" not in upper or "SECRET" in upper:
        return False
    partners = {upper.replace("ACCESS_KEY", "SECRET_KEY"), upper.replace("ACCESSKEY", "SECRETKEY"),
                upper.replace("ACCESS_KEY", "SECRET_ACCESS_KEY")}
    return any(n.upper() in partners for n in service.environment)


def _refs(text: str) -> list[tuple[str, str]]:
    """The variables a written value references: [(name, operator and word)]."""
    return [(m.group(1) or m.group(3), m.group(2) or "")
            for m in _REF.finditer(text.replace("$$", ""))]


def _provenance(service: Service, env: EnvValue, secret: str,
                in_url: bool) -> tuple[bool, Location]:
    """(written literally in a Compose file?, the line where the value is written)."""
    if env.origin != "environment":
        return False, env.location          # an env_file line
    written = env.written
    if written is None:
        # Workaround: the loader drops the written text of list-form `- KEY=${VAR}` entries
        # and of values merged from override files. A value equal to a secret of the .env
        # file came from it; a literal that happens to equal it is harmless to miss here.
        var = _dotenv_source(service, env, secret)
        return (False, var.location) if var else (True, env.location)
    if in_url:
        match = _URL.search(written)
        if match:
            written = match.group("password")
    refs = _refs(written)
    if not refs:
        return True, env.location
    dotenv = service.project.dotenv
    for name, _ in refs:
        var = dotenv.variables.get(name) if dotenv else None
        if var is not None and var.value:
            return False, var.location
    if any(op.startswith((":-", "-")) for _, op in refs):
        return True, env.location           # the default written here is what ships
    return False, env.location              # from the shell running `docker compose`


def _dotenv_source(service: Service, env: EnvValue, secret: str):
    dotenv = service.project.dotenv
    if dotenv is None:
        return None
    for var in dotenv.variables.values():
        if var.value == secret and (var.name == env.name or data.is_secret_name(var.name)):
            return var
    return None


def _secret_file_fix(service: Service, name: str, variable: str | None) -> str:
    secret = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "secret"
    if variable is None:
        return (f"keep `{name}` out of the environment: mount it with `secrets:` and have the "
                f"entrypoint read /run/secrets/{secret}, or at least move it to the .env file "
                f"(chmod 600, git-ignored) and write `{name}: ${{{name}}}` here")
    return (f"read it from a Docker secret instead:\n```yaml\nservices:\n  {service.name}:\n"
            f"    environment:\n      {variable}: /run/secrets/{secret}\n    secrets:\n"
            f"      - {secret}\nsecrets:\n  {secret}:\n    file: ./secrets/{secret}.txt"
            f"   # chmod 600, git-ignored\n```")


# --- SEC001 --------------------------------------------------------------------------------

@rule("SEC001", "hardcoded-secret", Severity.HIGH, title="Credential written in the Compose file",
      on=Service, checklist=["2.1.1", "2.1.2"],
      refs=["CWE-798", "OWASP Docker Security Cheat Sheet rule 12"],
      impact=Impact("service", (1, 2)))
def hardcoded_secret(service: Service, settings):
    """Reports a secret-named variable (`*_PASSWORD`, `*_SECRET`, `*_TOKEN`, `*_API_KEY`,
    `*_PRIVATE_KEY`, WireGuard's `WG_PRIVATE_KEY`, …) whose value is written literally under
    `environment:` in the Compose file, whatever the image (labwarden need not know it), a
    secret-named label (`app.api_key`), and a credential written on a command line
    (`command:`, `entrypoint:`, `healthcheck.test`): `redis-server --requirepass …`,
    `PGPASSWORD=… psql`, `mysqladmin -p…`, WireGuard's `PrivateKey=…`.

    Values taken from a `${VARIABLE}` (kept in .env) or from an `env_file:` are not reported
    here: that is where the checklist wants secrets kept (SEC005 and SEC006 check those
    files). Toggles (`true`), paths (`*_FILE: /run/secrets/…`), settings about a secret
    (`PASSWORD_MIN_LENGTH`, `TOKEN_EXPIRY`), user names and empty values are not secrets.
    A password hash is reported at MEDIUM: it is crackable, but not the password itself.

    Why it matters:
    A Compose file is shared, pasted into forums and committed to git. Every copy and every
    commit of the history carries the credential, and rotating it means editing the file.

    Example:
    ```yaml
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: s3cr3t-but-written-here
    ```

    Fix:
    Read the secret from a file with `secrets:` and the image's `_FILE` variable
    (`POSTGRES_PASSWORD_FILE: /run/secrets/db_password`), or at least move the value to the
    git-ignored, mode-600 `.env` file and write `POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}`.
    """
    for secret in secrets_of(service):
        if not secret.literal or secret.in_url:
            continue
        name = secret.env.name
        if secret.argument:
            yield Hit(f"{secret.label} is a credential written in the Compose file, and the "
                      "command line is shown by `ps` and `docker inspect`", secret.location,
                      resource=secret.resource, evidence=secret.evidence,
                      fix="read it from a secret file in the command (`--requirepass "
                          "\"$$(cat /run/secrets/redis_password)\"` in a `sh -c` line) or use "
                          "the program's file option")
            continue
        if secret.in_label:
            yield Hit(f"{secret.label} is a credential written in the Compose file: labels are "
                      "shown by `docker inspect` and to every service that reads the Docker "
                      "API", secret.location, resource=secret.resource,
                      evidence=secret.evidence,
                      fix="move the credential out of the label: into a secret file the "
                          "service reads, or at least a ${VARIABLE} kept in the mode-600 .env")
            continue
        if secret.hashed:
            message = (f"`{name}` holds a password hash written in the Compose file: anyone "
                       "who reads the file can try to crack it offline")
        else:
            message = (f"`{name}` is a credential written in the Compose file: every copy of "
                       "the file and of its git history carries it")
        yield Hit(message, secret.location, resource=secret.resource, evidence=secret.evidence,
                  severity=Severity.MEDIUM if secret.hashed else None,
                  fix=_secret_file_fix(service, name, data.file_variant(service.image, name)))


# --- SEC002 --------------------------------------------------------------------------------

@rule("SEC002", "default-password", Severity.CRITICAL, title="Default or guessable password",
      on=Service, checklist=["1.1.1"], refs=["CWE-1392", "CWE-521", "OWASP ASVS 2.5.4"],
      impact=Impact("service", (5, 30)))
def default_password(service: Service, settings):
    """Reports a secret whose value is a well-known default (`changeme`, `admin`, `postgres`,
    `123456`, `minioadmin`…), a template placeholder (`your-secret-here`), a guessable
    example (`mysecretpassword`) or the service's name, wherever the value comes from:
    written in the Compose file, a `${VARIABLE}` resolved from .env, an `env_file:`, or the
    password of a connection URL (`postgres://app:postgres@db/app`).

    Also reports images that run with a built-in login while its variable is unset (Grafana
    admin/admin, Nginx Proxy Manager's admin@example.com, MinIO minioadmin), and settings
    that switch the database password off (`POSTGRES_HOST_AUTH_METHOD=trust`,
    `MYSQL_ALLOW_EMPTY_PASSWORD`). A default that the product makes you change at the
    first login is HIGH rather than CRITICAL. A password equal to its user name is SEC008's.

    Why it matters:
    Default credentials are the first thing anyone tries, by hand or by bot, and templates'
    placeholders are as public as the template. One reachable port is then enough.

    Example:
    ```yaml
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: changeme
    ```

    Fix:
    Generate a random value (`openssl rand -base64 32`), keep it in a secret file or the
    .env file, and change it in the application too: a database keeps the password it was
    initialised with.
    """
    for secret in secrets_of(service):
        if secret.default and secret.default != SAME_AS_USER:
            yield Hit(f"{secret.label} is {secret.default}", secret.location,
                      resource=secret.resource, evidence=secret.evidence,
                      fix=f"set {secret.label} to a random value (`openssl rand -base64 32`) and "
                          "change it in the application as well")
    image = service.image
    env = service.environment
    for login in data.default_logins(image):
        if any(_is_set(env.get(v)) for v in login.set_by):
            continue
        when = (" until someone changes it at the first login" if login.first_login_change
                else " for as long as the service runs")
        yield Hit(f"{login.product} starts with its default login ({login.login}){when}: "
                  f"{' or '.join('`' + v + '`' for v in login.set_by[:2])} is not set",
                  service.location, resource=f"default-login:{login.product.lower()}",
                  evidence=f"image={image}", severity=login.severity,
                  fix=f"set `{login.variable}` to a secret with a random password before the "
                      "first start")
    for setting in data.NO_PASSWORD:
        value = env.get(setting.variable)
        if value is None or value.value is None or not _images.matches(image, setting.images):
            continue
        text = value.value.strip().lower()
        on = text in setting.values if setting.values else text not in data.FALSE_WORDS
        if on and not any(_is_set(env.get(v)) for v in setting.unless):
            yield Hit(f"`{setting.variable}` is set: {setting.what}", value.location,
                      resource=f"env:{setting.variable}",
                      evidence=f"{setting.variable}={value.value}",
                      fix=f"remove `{setting.variable}` and set a random password with a secret")


@rule("SEC008", "password-equals-user-name", Severity.CRITICAL,
      title="Password equal to the user name", on=Service, checklist=["1.1.1"],
      refs=["CWE-521", "CWE-1392", "OWASP ASVS 2.1.7"], impact=Impact("service", (5, 30)))
def password_equals_user_name(service: Service, settings):
    """Reports a secret equal (ignoring case) to a user name the service is given
    (`*_USER`, `*_USERNAME`, `*_LOGIN`) or to the user of the same connection URL
    (`postgres://app:app@db/app`), wherever the value comes from. Well-known default
    passwords are SEC002's: the two can be waived apart.

    Why it matters:
    The user name is the first password anyone tries, and it is rarely secret: it sits next
    to the password in the same file, in logs and in connection strings.

    Example:
    ```yaml
    services:
      db:
        image: postgres:16.4
        environment:
          POSTGRES_USER: nextcloud
          POSTGRES_PASSWORD: nextcloud
    ```

    Fix:
    Generate a random value (`openssl rand -base64 32`), keep it in a secret file or the
    .env file, and change it in the application too.
    """
    for secret in secrets_of(service):
        if secret.default == SAME_AS_USER:
            yield Hit(f"{secret.label} is {SAME_AS_USER}", secret.location,
                      resource=secret.resource, evidence=secret.evidence,
                      fix=f"set {secret.label} to a random value (`openssl rand -base64 32`) and "
                          "change it in the application as well")


@rule("SEC009", "app-open-to-strangers", Severity.HIGH,
      title="Application setting that opens it to strangers", on=Service, checklist=["1.1.1"],
      refs=["CWE-1188", "CWE-306", "OWASP ASVS 2.1"], impact=Impact("service", (1, 2)))
def app_open_to_strangers(service: Service, settings):
    """Reports settings of well-known homelab applications that let a stranger in, from the
    table in `knowledge/apps.py`: public sign-up left on (Vaultwarden `SIGNUPS_ALLOWED`,
    Gitea/Forgejo `DISABLE_REGISTRATION=false`, Grafana `GF_USERS_ALLOW_SIGN_UP`, Mealie
    `ALLOW_SIGNUP`), anonymous access (Grafana `GF_AUTH_ANONYMOUS_ENABLED`, HIGH when the
    anonymous role can edit), a default policy that bypasses the login (Authelia), automatic
    login (Paperless-ngx `PAPERLESS_AUTO_LOGIN_USERNAME`), a web UI with an empty or no
    password (Pi-hole, code-server), Vaultwarden's admin token kept in plain text, and a
    Portainer whose first visitor creates the administrator. Only what the Compose file
    sets is judged; settings kept in the app's own configuration file are not guessed.

    Why it matters:
    A homelab service published through the reverse proxy is on the internet: sign-up and
    anonymous access are found by the same scanners that try default passwords, and an
    account in a password manager or a Git server is a foothold in everything else.

    Example:
    ```yaml
    services:
      vaultwarden:
        image: vaultwarden/server:1.32.5
        environment:
          SIGNUPS_ALLOWED: "true"
    ```

    Fix:
    Turn the setting off and create accounts as the administrator (invitations), or keep
    the service off the public proxy.
    """
    image = service.image
    if not image:
        return
    env = service.environment
    for setting in settings_for(image):
        if any(_is_set(env.get(v)) for v in setting.unless) or \
                (setting.unless_flags and _has_flag(service, setting.unless_flags)):
            continue
        present = [env[v] for v in setting.variables if v in env]
        if not present:
            if setting.open_when_unset:
                names = " or ".join(f"`{v}`" for v in setting.variables)
                yield Hit(f"{setting.product}: {setting.what}" + (
                    f" ({names} not set)" if names else ""), service.loc("image"),
                    resource=f"app:{setting.product.lower()}", evidence=f"image: {image}",
                    severity=setting.severity, fix=setting.fix)
            continue
        opening = [e for e in present if e.value is not None and setting.opens(e.value)]
        if setting.open_when_unset and len(opening) < len(present):
            continue            # one of the spellings closes it
        for found in opening:
            severity = setting.severity
            if setting.worse is not None:
                other = env.get(setting.worse[0])
                if other is not None and other.value and \
                        other.value.strip().lower() in setting.worse[1]:
                    severity = setting.worse[2]
            value = (found.value or "").strip()
            if not value:
                shown = f"`{found.name}` is empty"
            elif data.is_secret_name(found.name):
                shown = f"`{found.name}` is set"
            else:
                shown = f"`{found.name}={value}`"
            yield Hit(f"{setting.product}'s {shown}: {setting.what}", found.location,
                      resource=f"env:{found.name}", evidence=shown.replace("`", ""),
                      severity=severity, fix=setting.fix)


def _has_flag(service: Service, flags: tuple[str, ...]) -> bool:
    command = service.raw.get("command")
    if command is None:
        return False
    words = [str(w) for w in command] if isinstance(command, Seq) else str(command).split()
    return any(w.split("=", 1)[0] in flags for w in words)


def _is_set(env: EnvValue | None) -> bool:
    """Set, or deliberately supplied from elsewhere (shell pass-through, a ${VARIABLE})."""
    if env is None:
        return False
    return env.value is None or env.value != "" or env.from_variable


# --- SEC003 --------------------------------------------------------------------------------

@rule("SEC003", "credentials-in-url", Severity.HIGH, title="Password inside a connection URL",
      on=Service, checklist=["2.1.1"], refs=["CWE-798", "CWE-522", "RFC 3986 3.2.1"],
      impact=Impact("service", (1, 2)))
def credentials_in_url(service: Service, settings):
    """Reports a connection URL (`postgres://`, `mysql://`, `mongodb+srv://`, `redis://`,
    `amqp://`, `https://user:pass@`, `smtp://`…) whose password is written literally in the
    Compose file, and a notification or webhook URL whose token is (`discord://TOKEN@ID`,
    `telegram://…`, `slack://A/B/C`, `https://discord.com/api/webhooks/ID/TOKEN`,
    `https://hooks.slack.com/services/…`): under `environment:`, in `labels:` or on the
    command line. A credential written as `${VARIABLE}` inside the URL is the recommended
    form and is not reported.

    Why it matters:
    A URL is copied whole into logs, error messages, dashboards and bug reports; the
    password inside it travels with it, on top of everything SEC001 describes.

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
        environment:
          DATABASE_URL: postgres://app:hunter2-but-longer@db:5432/app
    ```

    Fix:
    Interpolate the password: `DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app`
    with `DB_PASSWORD` in the git-ignored, mode-600 `.env`, or give the application the
    password through a secret file if it supports one.
    """
    for secret in secrets_of(service):
        if secret.in_url and secret.literal:
            text = secret.env.value or ""
            match = _URL.search(text)
            found = None if match else data.url_token(text)
            scheme = match.group("scheme") if match else found[0] if found else "a"
            what = "token" if secret.token else "password"
            where = secret.label.removeprefix(f"the {what} in ")
            kind = "notification or webhook URL" if secret.token else "connection URL"
            variable = re.sub(r"[^A-Z0-9_]+", "_", secret.env.name.upper()).strip("_") or "URL"
            shown = " (labels are shown by `docker inspect` and to every service that reads " \
                "the Docker API)" if secret.in_label else " (and on the command line, shown " \
                "by `ps` and `docker inspect`)" if secret.argument else ""
            yield Hit(f"{where} holds a {kind} ({scheme}://) with its {what} written in the "
                      f"Compose file{shown}", secret.location, resource=secret.resource,
                      evidence=secret.evidence,
                      fix=f"write the {what} as a variable (`${{{variable}_{what.upper()}}}` "
                          f"inside the URL) and keep `{variable}_{what.upper()}` in the "
                          "mode-600, git-ignored .env file")


# --- SEC004 --------------------------------------------------------------------------------

@rule("SEC004", "secret-in-plain-environment", Severity.MEDIUM,
      title="Secret passed as an environment variable", on=Service, checklist=["2.1.2", "2.1.4"],
      refs=["CWE-526", "CWE-214", "Docker docs: Manage secrets in Compose"],
      impact=Impact("service", (1, 2)))
def secret_in_plain_environment(service: Service, settings):
    """Reports a secret kept outside the Compose file (a `${VARIABLE}` from .env, an
    `env_file:`) but handed to the container as a plain environment variable, when the image
    can read it from a file instead (`POSTGRES_PASSWORD_FILE`, Grafana's `GF_*__FILE`,
    linuxserver's `FILE__*`, …) or the project already uses top-level `secrets:`.

    Literal values are left to SEC001, and a variable already reported by SEC002 or SEC007
    is not reported again: fix the value first.

    Why it matters:
    The environment of a container is shown by `docker inspect` to anyone with access to the
    Docker socket (monitoring agents, dashboards), is readable in /proc/<pid>/environ, is
    inherited by every child process and often ends up in crash reports and debug pages.

    Example:
    ```yaml
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
    ```

    Fix:
    ```yaml
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD_FILE: /run/secrets/db_password
        secrets:
          - db_password
    secrets:
      db_password:
        file: ./secrets/db_password.txt   # chmod 600, git-ignored
    ```
    """
    uses_secrets = bool(service.project.section("secrets"))
    for secret in secrets_of(service):
        if secret.literal or secret.default or secret.weak or secret.argument:
            continue
        name = secret.env.name
        variable = data.file_variant(service.image, name)
        if variable is None and (secret.in_url or not uses_secrets):
            continue
        if variable is not None and variable in service.environment:
            continue
        how = (f"`{_images.repository(service.image)}` can read it from a file with `{variable}`"
               if variable else "the project already defines `secrets:`")
        yield Hit(f"{secret.label} reaches the container as a plain environment variable, "
                  f"shown by `docker inspect` and in /proc; {how}", secret.env.location,
                  resource=secret.resource, evidence=secret.evidence,
                  fix=_secret_file_fix(service, name, variable))


# --- SEC007 --------------------------------------------------------------------------------

@rule("SEC007", "weak-secret", Severity.MEDIUM, title="Secret shorter than the policy minimum",
      on=Service, checklist=["1.1.2"], refs=["CWE-521", "NIST SP 800-63B 5.1.1"],
      impact=Impact("service", (5, 30)))
def weak_secret(service: Service, settings):
    """Reports a secret (a secret-named variable, or the password of a connection URL) shorter
    than 16 characters, the minimum of the password policy, from any source: the Compose
    file, a `${VARIABLE}` from .env or an `env_file:`. Known defaults are SEC002's, unset
    and empty values are not judged, and password hashes are not passwords.

    Why it matters:
    Services reachable on the network are brute-forced; a short password falls to an
    offline attack on a leaked hash in hours. Machine-to-machine secrets are never typed,
    so there is no reason for them to be short.

    Example:
    ```yaml
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}   # .env: POSTGRES_PASSWORD=Tr0ub4dor&3
    ```

    Fix:
    Generate at least 16 random characters (`openssl rand -base64 32`) and change the
    password in the application as well.
    """
    for secret in secrets_of(service):
        if secret.weak:
            length = len(secret.value)
            yield Hit(f"{secret.label} is {length} character{'s' if length != 1 else ''} long; "
                      f"the policy asks for at least {data.MIN_SECRET_LENGTH}", secret.location,
                      resource=secret.resource, evidence=secret.evidence,
                      fix=f"replace it with a random value of at least {data.MIN_SECRET_LENGTH} "
                          "characters (`openssl rand -base64 32`) and change it in the "
                          "application as well")


# --- env files -----------------------------------------------------------------------------

def env_file_secrets(env: EnvFile) -> list[str]:
    """Names of the variables of an env file that hold a secret value of their own."""
    names = []
    for var in env.variables.values():
        value = var.value
        if not value or (var.written and _refs(var.written)):
            continue            # empty, or taken from another variable (reported there)
        url = (url_password(value) or data.url_token(value)) if "://" in value else None
        if url or (data.is_secret_name(var.name) and not data.is_setting_value(value)):
            names.append(var.name)
    return names


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")


@rule("SEC005", "env-file-permissions", Severity.MEDIUM, title="Env file readable by others",
      on=EnvFile, checklist=["2.1.5"], refs=["CWE-732", "CWE-276"],
      impact=Impact("none", (0, 0)))
def env_file_permissions(env: EnvFile, settings):
    """Reports an env file (the project's `.env` or an `env_file:`) that holds at least one
    secret and whose permissions let the group or other users read or write it.

    A file writable by others is HIGH: anyone on the host can then inject variables
    (`LD_PRELOAD`, a different database host) into the containers.

    Why it matters:
    Every local user, every compromised service account and every backup job that runs as
    another user can read the secrets. The checklist asks for mode 600.

    Example:
    ```
    $ ls -l .env
    -rw-r--r-- 1 admin admin 312 Jan  4 10:12 .env
    ```

    Fix:
    `chmod 600 .env` (and every `env_file:`), owned by the user that runs `docker compose`.
    """
    if env.mode is None or not env.mode & 0o077:
        return
    names = env_file_secrets(env)
    if not names:
        return
    who = "others" if env.mode & 0o007 else "its group"
    writable = env.mode & 0o022
    access = "writable" if writable else "readable"
    yield Hit(f"{os.path.basename(env.path)} holds secrets ({_listing(names)}) and is "
              f"{access} by {who} (mode {env.mode:04o})", Location(env.path, 1),
              resource="env-file-mode", evidence=f"mode {env.mode:04o}",
              severity=Severity.HIGH if env.mode & 0o002 else None,
              fix=f"chmod 600 {_quote(env.path)}")


@rule("SEC006", "env-file-tracked-by-git", Severity.HIGH, title="Env file with secrets in git",
      on=EnvFile, checklist=["2.1.3"], refs=["CWE-540", "CWE-312"],
      # Untracking restarts nothing; the rotation it calls for rides along with the services'
      # next restart, which their own findings already schedule.
      impact=Impact("none", (0, 0)))
def env_file_tracked_by_git(env: EnvFile, settings):
    """Reports an env file that holds at least one secret and is tracked by git, even if a
    `.gitignore` entry was added later (ignoring does not untrack).

    Why it matters:
    Everyone with a clone, a fork or a backup of the repository has the secrets, and so does
    the history forever: removing the file in a later commit does not remove them.

    Example:
    ```
    $ git ls-files
    compose.yaml
    .env
    ```

    Fix:
    `git rm --cached .env`, add `.env` to `.gitignore`, commit, and rotate every secret the
    file held: they remain in the history (rewrite it with git filter-repo only if the
    repository was never shared).
    """
    if env.tracked_by_git is not True:
        return
    names = env_file_secrets(env)
    if not names:
        return
    base = os.path.basename(env.path)
    yield Hit(f"{base} is tracked by git and holds secrets ({_listing(names)}): every clone "
              "and the history carry them", Location(env.path, 1), resource="env-file-git",
              evidence=f"git ls-files: {base}",
              fix=f"git rm --cached {_quote(env.path)}; add {base} to .gitignore; then "
                  f"rotate {_listing(names)} (they stay in the git history)")


def _quote(path: str) -> str:
    from shlex import quote  # for the env-file rules' fixes only

    return quote(path)


# --- provers: what shows the items hold ---------------------------------------------------

by_silence("SEC001", "2.1.1", also=("SEC003",), complete=runnable,
           note="no credential written in the Compose file")


@prover("SEC004", "2.1.2")
def no_secret_in_environment(service: Service, settings):
    """Every secret the service takes, wherever it comes from, is in `docker inspect` when it
    is passed as a variable or an argument: only a service that takes none that way shows
    the item (SEC004 reports only the ones the image could read from a file)."""
    if not runnable(service) or secrets_of(service):
        return None
    return "no secret in its environment or arguments"


@prover("SEC004", "2.1.4")
def docker_secrets_used(service: Service, settings):
    if not runnable(service):
        return None
    used = service.raw.get("secrets")
    if used:
        names = [str(s.get("source") if hasattr(s, "get") else s) for s in used]
        return "Docker secrets: " + ", ".join(names[:4])
    if not secrets_of(service):
        return "takes no secret"
    return None


@prover("SEC005", "2.1.5")
def env_file_private(env: EnvFile, settings):
    if not env.readable or env.mode is None or env.mode & 0o077:
        return None
    return f"{os.path.basename(env.path)} mode {env.mode & 0o777:04o}"


@prover("SEC006", "2.1.3")
def env_file_untracked(env: EnvFile, settings):
    if env.tracked_by_git is not False:
        return None          # tracked, or not in a repository git could tell about
    return f"{os.path.basename(env.path)} is not tracked by git"
