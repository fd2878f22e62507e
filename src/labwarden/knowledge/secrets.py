"""What the secrets rules know, as data: which variable names hold secrets, which values are
well-known defaults or placeholders, which images read a secret from a file (`_FILE`), and
which images ship a default login when a variable is left unset.

Extend the tables here; the rules in `secrets.py` only combine them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from labwarden._record import FrozenRecord, set_frozen
from labwarden.model import Severity
from labwarden.knowledge import images as _images

MIN_SECRET_LENGTH = 16          # the seed's password policy (checklist 1.1.2)

# --- which names hold a secret ------------------------------------------------------------
# Names are split into words on `_`, `.` and `-` (`GF_SECURITY_ADMIN_PASSWORD` →
# GF, SECURITY, ADMIN, PASSWORD) and judged word by word, so `TOKENIZERS_PARALLELISM`,
# `PASSPORT_STRATEGY` or `CACHE_BYPASS` are not mistaken for secrets.

SECRET_WORDS = frozenset({
    "PASSWORD", "PASSWORDS", "PASSWD", "PASSPHRASE", "PASS", "PWD", "PW", "SECRET", "SECRETS",
    "TOKEN", "CREDENTIAL", "CREDENTIALS", "CREDS", "SALT", "APIKEY", "AUTHKEY", "SECRETKEY",
    "PRIVATEKEY", "ACCESSKEY", "MASTERKEY", "APPKEY", "REQUIREPASS", "PSK", "PRESHAREDKEY",
})
# A word ending like this is a secret too: DBPASSWORD, WEBPASSWORD, CLIENTSECRET, APITOKEN.
SECRET_ENDINGS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "PASS")
NOT_PASS = frozenset({"BYPASS", "COMPASS", "SURPASS", "OVERPASS", "UNDERPASS", "EXPASS"})
# `<qualifier>_KEY` is key material: API_KEY, PRIVATE_KEY, ENCRYPTION_KEY, APP_KEY (Laravel).
KEY_QUALIFIERS = frozenset({
    "API", "ACCESS", "PRIVATE", "SECRET", "AUTH", "ENCRYPTION", "ENC", "CRYPT", "CRYPTO",
    "MASTER", "SIGNING", "SIGN", "SESSION", "JWT", "APP", "HMAC", "CIPHER", "ADMIN", "STREAM",
    "PRESHARED", "SHARED",
})
# A name with one of these words is a setting about a secret, not the secret:
# PASSWORD_MIN_LENGTH, TOKEN_EXPIRY, MYSQL_ALLOW_EMPTY_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD.
SETTING_WORDS = frozenset({
    "MIN", "MAX", "LENGTH", "LEN", "TTL", "TIMEOUT", "EXPIRE", "EXPIRES", "EXPIRY",
    "EXPIRATION", "LIFETIME", "VALIDITY", "DURATION", "INTERVAL", "ROTATION", "ROUNDS",
    "ITERATIONS", "COST", "RETRIES", "ATTEMPTS", "HISTORY", "POLICY", "COMPLEXITY", "STRENGTH",
    "REQUIREMENTS", "ALLOW", "RANDOM", "GENERATE", "ENABLE", "ENABLED", "DISABLE", "DISABLED",
    "LIMIT", "LIMITS", "LIMITER", "RATE", "COUNT", "NUM", "NUMBER", "QUOTA", "THRESHOLD", "SIZE",
})
# A name ending with one of these words names something next to the secret: its user, file,
# URL, type… (`POSTGRES_PASSWORD_FILE`, `DB_USER`, `TOKEN_URL`, `SECRET_NAME`).
NEIGHBOUR_WORDS = frozenset({
    "FILE", "PATH", "DIR", "DIRECTORY", "FOLDER", "LOCATION", "USER", "USERNAME", "LOGIN",
    "EMAIL", "MAIL", "NAME", "ID", "URL", "URI", "ENDPOINT", "HOST", "HOSTNAME", "PORT",
    "TYPE", "METHOD", "MODE", "FORMAT", "ALGORITHM", "ALG", "HEADER", "ISSUER", "AUDIENCE",
    "SCOPE", "SCOPES", "PROVIDER", "REQUIRED", "HINT", "PATTERN", "REGEX", "BACKEND", "FIELD",
    "PARAM", "PREFIX", "SUFFIX", "LABEL", "VERSION", "USERS", "LANGUAGE", "LANG", "LOCALE",
    "THEME", "TITLE", "TIMEZONE", "ENV",
})
NOT_SECRETS = frozenset({"PWD", "OLDPWD"})       # the shell's working directories

_WORDS = re.compile(r"[_.\-]+")
# A secret's name holds one of its secret words or endings, or KEY: one search rules out most
# names (`TZ`, `PUID`, `traefik.http.routers.app.rule`) before they are split into words.
_SECRET_HINT = re.compile("|".join(sorted(SECRET_WORDS | set(SECRET_ENDINGS) | {"KEY"})))


# The same few hundred variable names recur across services and rules: both are cached.
@lru_cache(maxsize=4096, typed=True)
def words(name: str) -> tuple[str, ...]:
    """The upper-cased words of a variable name: `db-Password_1` → (DB, PASSWORD, 1)."""
    return tuple(w for w in _WORDS.split(str(name).upper()) if w)


@lru_cache(maxsize=4096, typed=True)
def is_secret_name(name: str) -> bool:
    """Does this variable name hold a secret (by naming convention)?"""
    if _SECRET_HINT.search(str(name).upper()) is None:
        return False
    parts = words(name)
    if not parts or name.upper() in NOT_SECRETS:
        return False
    if parts[0] == "FILE" or parts[-1] in NEIGHBOUR_WORDS:   # FILE__PASSWORD (linuxserver)
        return False
    if any(p in SETTING_WORDS for p in parts):
        return False
    for index, part in enumerate(parts):
        if part in SECRET_WORDS:
            return True
        if part.endswith(SECRET_ENDINGS) and part not in NOT_PASS:
            return True
        if part in ("KEY", "KEYS") and index and parts[index - 1] in KEY_QUALIFIERS:
            return True
    return False


# --- which values are not secrets at all --------------------------------------------------

SETTING_VALUES = frozenset({
    "true", "false", "yes", "no", "on", "off", "0", "1", "y", "n", "t", "f", "enabled",
    "disabled", "enable", "disable", "none", "null", "nil", "undefined", "~", "-", "[]", "{}",
})
_PATH = re.compile(r"(?:/|\./|\.\./|~/|file:)\S*\Z|[A-Za-z]:\\\S*\Z")
_TEMPLATE = re.compile(r"\{\{.*\}\}\Z|\{\%.*\%\}\Z", re.S)


def is_setting_value(value: str) -> bool:
    """A toggle, a path to a secret file or a template placeholder: nothing to protect."""
    text = value.strip()
    return (text.lower() in SETTING_VALUES or _PATH.match(text) is not None
            or _TEMPLATE.match(text) is not None)


_HASH = re.compile(r"(?:^|:)\$(?:2[abxy]?|apr1|argon2(?:id|i|d)?|[1567]|y|gy|pbkdf2[\w-]*)\$"
                   r"|^\{(?:SSHA|SHA|SSHA256|SSHA512|CRYPT|ARGON2|PBKDF2)[^}]*\}", re.I)


def is_password_hash(value: str) -> bool:
    """bcrypt/argon2/sha-crypt/htpasswd hashes: crackable, but not the password itself."""
    return _HASH.search(value) is not None


# --- well-known default and placeholder values --------------------------------------------
# Compared lower-cased. A value equal to one of these, or one of the base words followed by
# a few digits or a `!` (`admin123`, `password1!`), is a default anybody would try first.

DEFAULT_PASSWORDS = frozenset({
    "changeme", "change_me", "change-me", "changeit", "changethis", "admin", "administrator",
    "password", "passw0rd", "p@ssw0rd", "p@ssword", "pa55word", "pa$$word", "passwd", "pass",
    "pwd", "postgres", "postgresql", "root", "toor", "secret", "s3cret", "s3cr3t", "example",
    "letmein", "test", "testing", "default", "mysql", "mariadb", "mongo", "mongodb", "redis",
    "minio", "minioadmin", "minio123", "guest", "user", "demo", "qwerty", "qwertyuiop",
    "welcome", "abc123", "iloveyou", "trustno1", "monkey", "dragon", "master", "sunshine",
    "shadow", "superman", "batman", "football", "hunter2", "foobar", "foo", "bar", "baz",
    "1q2w3e4r", "1qaz2wsx", "zaq12wsx", "asdf", "asdfgh", "asdfghjkl", "qazwsx", "qwe123",
    "ubnt", "alpine", "vagrant", "raspberry", "tiger", "nextcloud", "wordpress", "grafana",
    "rabbitmq", "elastic", "elasticsearch", "kibana", "gitea", "gitlab", "docker", "ubuntu",
    "pihole", "plex", "homeassistant", "openmediavault", "adminadmin", "rootroot",
    "1234", "12345", "123456", "1234567", "12345678", "123456789", "1234567890", "0000",
    "000000", "00000000", "111111", "11111111", "123123", "121212", "654321", "666666",
    "112233", "dbpass", "dbpassword", "db_password", "rootpass", "rootpassword",
    "adminpass", "adminpassword", "admin_password", "userpass", "userpassword", "secretkey",
})
DEFAULT_BASES = frozenset({
    "password", "passw0rd", "p@ssw0rd", "pass", "admin", "root", "secret", "test", "demo",
    "example", "default", "guest", "user", "changeme", "letmein", "welcome", "qwerty",
    "postgres", "mysql", "mariadb", "mongo", "redis", "minio", "abc", "toor",
})
_SUFFIXED = re.compile(r"([a-z@0$]+?)(\d{1,4}!?|!)\Z")

# Words that make up the guessable example values docs and templates ship: "mysecretpassword",
# "supersecretkey", "your-super-secret-jwt-token-with-at-least-32-characters-long".
_GUESSABLE = re.compile(
    r"(?:my|some|super|very|top|the|a|an|default|example|sample|test|dummy|demo|admin|root|"
    r"user|db|database|app|secure|strong|long|new|change|secret|secrets|password|passwd|pass|"
    r"pw|pwd|token|key|api|jwt|session|auth|encryption|signing|private|master|postgres|mysql|"
    r"mariadb|mongo|redis|minio|grafana|nextcloud|here)+\d{0,4}!?\Z")
_PLACEHOLDER_WORDS = ("changeme", "changethis", "replaceme", "replacethis", "placeholder",
                      "fillme", "insertyour", "putyour", "enteryour", "setyour", "xxxxx",
                      "notset", "todo", "fixme", "generateme", "generatewith", "opensslrand")
_PLACEHOLDER = re.compile(r"<[^<>]*>|\[[^\[\]]*\]|[x*.#]{3,}|\$\{[^}]*\}", re.I)


def default_reason(value: str) -> str | None:
    """Why `value` is a default, placeholder or guessable password; None when it is not."""
    text = value.strip().lower()
    if not text:
        return None
    if text in DEFAULT_PASSWORDS:
        return "a well-known default password"
    suffixed = _SUFFIXED.match(text)
    if suffixed and suffixed.group(1) in DEFAULT_BASES:
        return "a well-known default password with a number appended"
    compact = re.sub(r"[\s_.\-]+", "", text)
    if (_PLACEHOLDER.fullmatch(text) or compact.startswith("your")
            or any(word in compact for word in _PLACEHOLDER_WORDS)):
        return "a placeholder from a template"
    if len(compact) <= 64 and _GUESSABLE.match(compact):
        return "a guessable example value"
    return None


# --- images that read a secret from a file --------------------------------------------------

class FileVariant(FrozenRecord):
    """An image's way to read variable NAME from a file instead of the environment."""

    __slots__ = ("images", "namespaces", "prefixes", "style")
    images: tuple[str, ...]
    namespaces: tuple[str, ...]
    prefixes: tuple[str, ...]
    style: str

    def __init__(self, images: tuple[str, ...] = (), namespaces: tuple[str, ...] = (),
                 prefixes: tuple[str, ...] = (), style: str = "suffix"):
        set_frozen(self, "images", images)  # repositories or last names, see _images.matches
        # or every image of these namespaces (linuxserver/…)
        set_frozen(self, "namespaces", namespaces)
        set_frozen(self, "prefixes", prefixes)  # the variables it covers; () means any
        set_frozen(self, "style", style)  # suffix NAME_FILE | double NAME__FILE | prefix FILE__NAME

    def applies(self, image: str | None, name: str) -> bool:
        return self.serves(image) and self.covers(name)

    def serves(self, image: str | None) -> bool:
        """Whether the image is one of this variant's (by name or by namespace)."""
        repo = _images.repository(image)
        if not repo:
            return False
        return _images.matches(image, self.images) or \
            any(repo.startswith(ns + "/") for ns in self.namespaces)

    def covers(self, name: str) -> bool:
        """Whether the variable is one this variant reads from a file."""
        return not self.prefixes or name.upper().startswith(self.prefixes)

    def variable(self, name: str) -> str:
        if self.style == "double":
            return f"{name}__FILE"
        if self.style == "prefix":
            return f"FILE__{name}"
        return f"{name}_FILE"


FILE_VARIANTS = (
    FileVariant(images=("postgres", "postgis/postgis", "timescale/timescaledb",
                        "timescale/timescaledb-ha", "pgvector/pgvector", "ankane/pgvector",
                        "tensorchord/pgvecto-rs"), prefixes=("POSTGRES_",)),
    FileVariant(images=("mysql",), prefixes=("MYSQL_",)),
    FileVariant(images=("mariadb",), prefixes=("MARIADB_", "MYSQL_")),
    FileVariant(images=("mongo",), prefixes=("MONGO_INITDB_",)),
    FileVariant(images=("grafana/grafana", "grafana/grafana-oss", "grafana/grafana-enterprise"),
                prefixes=("GF_",), style="double"),
    FileVariant(images=("gitea/gitea",), prefixes=("GITEA__",), style="double"),
    FileVariant(images=("nextcloud",), prefixes=("NEXTCLOUD_ADMIN_", "MYSQL_", "POSTGRES_",
                                                 "REDIS_HOST_PASSWORD", "SMTP_",
                                                 "OBJECTSTORE_")),
    FileVariant(images=("wordpress",), prefixes=("WORDPRESS_",)),
    FileVariant(images=("paperless-ngx/paperless-ngx", "paperlessngx/paperless-ngx"),
                prefixes=("PAPERLESS_",)),
    FileVariant(images=("n8nio/n8n", "n8n"), prefixes=("DB_", "N8N_")),
    FileVariant(images=("minio/minio",), prefixes=("MINIO_ROOT_", "MINIO_ACCESS_KEY",
                                                   "MINIO_SECRET_KEY")),
    FileVariant(images=("dpage/pgadmin4",), prefixes=("PGADMIN_DEFAULT_PASSWORD",)),
    FileVariant(images=("immich-app/immich-server", "altran1502/immich-server"),
                prefixes=("DB_", "REDIS_")),
    FileVariant(images=("vaultwarden/server",)),
    FileVariant(images=("passbolt/passbolt",), prefixes=("DATASOURCES_", "EMAIL_TRANSPORT_")),
    FileVariant(namespaces=("bitnami",)),
    FileVariant(namespaces=("linuxserver",), style="prefix"),
)


def file_variant(image: str | None, name: str) -> str | None:
    """The variable that reads `name` from a file on this image (`POSTGRES_PASSWORD_FILE`)."""
    for variant in _variants_serving(image):
        if variant.covers(name):
            return variant.variable(name)
    return None


@lru_cache(maxsize=4096)    # asked for every secret of every service: the images repeat
def _variants_serving(image: str | None) -> tuple[FileVariant, ...]:
    """The FILE_VARIANTS entries of this image, in table order (the first that covers a
    variable wins); most images have none."""
    return tuple(variant for variant in FILE_VARIANTS if variant.serves(image))


# --- images with a built-in login while a variable is unset ---------------------------------

class DefaultLogin(FrozenRecord):
    __slots__ = ("images", "product", "login", "set_by", "variable", "severity",
                 "first_login_change")
    images: tuple[str, ...]
    product: str
    login: str
    set_by: tuple[str, ...]
    variable: str
    severity: Severity
    first_login_change: bool

    def __init__(self, images: tuple[str, ...], product: str, login: str, set_by: tuple[str, ...],
                 variable: str, severity: Severity, first_login_change: bool):
        set_frozen(self, "images", images)
        set_frozen(self, "product", product)
        set_frozen(self, "login", login)  # described, never a secret of the user's
        set_frozen(self, "set_by", set_by)  # any of these set (any origin) → no default
        set_frozen(self, "variable", variable)  # the variable the fix sets
        set_frozen(self, "severity", severity)
        # the product asks for a new password at first login
        set_frozen(self, "first_login_change", first_login_change)


DEFAULT_LOGINS = (
    DefaultLogin(("grafana/grafana", "grafana/grafana-oss", "grafana/grafana-enterprise"),
                 "Grafana", "admin/admin",
                 ("GF_SECURITY_ADMIN_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD__FILE",
                  "GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION"),
                 "GF_SECURITY_ADMIN_PASSWORD__FILE", Severity.HIGH, True),
    DefaultLogin(("jc21/nginx-proxy-manager",), "Nginx Proxy Manager",
                 "admin@example.com/changeme", ("INITIAL_ADMIN_PASSWORD",),
                 "INITIAL_ADMIN_PASSWORD", Severity.HIGH, True),
    DefaultLogin(("minio/minio",), "MinIO", "minioadmin/minioadmin",
                 ("MINIO_ROOT_PASSWORD", "MINIO_ROOT_PASSWORD_FILE", "MINIO_SECRET_KEY",
                  "MINIO_SECRET_KEY_FILE", "MINIO_CONFIG_ENV_FILE"),
                 "MINIO_ROOT_PASSWORD_FILE", Severity.CRITICAL, False),
)


@lru_cache(maxsize=4096)    # asked for every service: the images repeat
def default_logins(image: str | None) -> tuple[DefaultLogin, ...]:
    """The DEFAULT_LOGINS entries of this image, in table order; most images have none."""
    return tuple(login for login in DEFAULT_LOGINS if _images.matches(image, login.images))


# --- settings that turn the password off --------------------------------------------------

class NoPassword(FrozenRecord):
    __slots__ = ("images", "variable", "values", "unless", "what")

    def __init__(self, images: tuple[str, ...], variable: str, values: tuple[str, ...] | None,
                 unless: tuple[str, ...], what: str):
        set_frozen(self, "images", images)
        set_frozen(self, "variable", variable)  # the setting that removes the password
        set_frozen(self, "values", values)  # values that do it (lower-cased); None: any non-empty
        set_frozen(self, "unless", unless)  # a password set by any of these keeps it
        set_frozen(self, "what", what)


NO_PASSWORD = (
    NoPassword(FILE_VARIANTS[0].images, "POSTGRES_HOST_AUTH_METHOD", ("trust",), (),
               "PostgreSQL accepts every connection without a password"),
    NoPassword(("mysql", "mariadb"), "MYSQL_ALLOW_EMPTY_PASSWORD", None,
               ("MYSQL_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD_FILE", "MARIADB_ROOT_PASSWORD",
                "MARIADB_ROOT_PASSWORD_FILE", "MYSQL_RANDOM_ROOT_PASSWORD",
                "MARIADB_RANDOM_ROOT_PASSWORD"),
               "the database root account has an empty password"),
    NoPassword(("mariadb",), "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", None,
               ("MYSQL_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD_FILE", "MARIADB_ROOT_PASSWORD",
                "MARIADB_ROOT_PASSWORD_FILE", "MYSQL_RANDOM_ROOT_PASSWORD",
                "MARIADB_RANDOM_ROOT_PASSWORD"),
               "the database root account has an empty password"),
)

FALSE_WORDS = frozenset({"", "0", "false", "no", "off", "n", "f"})


# --- credentials inside notification and webhook URLs ---------------------------------------
# Shoutrrr (Watchtower, Uptime Kuma's exports) and Apprise URLs carry the token in the user
# part (`discord://TOKEN@WEBHOOK_ID`, `telegram://TOKEN@telegram`) or in the path
# (`slack://A/B/C`, `discord://ID/TOKEN`, `tgram://BOT_TOKEN/CHAT`); the services' own webhook
# URLs hold it in the path. A URL with `user:password@` is the general rule's (any scheme).
# Schemes whose lone user part is a name, not a secret (`slack://botname@…`,
# `mattermost://user@host/token`), are left to their path tokens.

TOKEN_IN_USER = frozenset({"discord", "telegram", "pover", "pushover", "join", "bark"})
_URL_TOKEN_USER = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://(?P<secret>[^:/@\s]+)@")
_URL_TOKEN_PATH = re.compile(
    r"(?P<scheme>slack|tgram|discord|gotify|pbul|pushbullet)://(?:[^/@\s]*@)?"
    r"(?P<secret>[^?#\s]+)"
    r"|(?P<hook>https?)://(?:hooks\.slack\.com/services/|(?:ptb\.|canary\.)?discord(?:app)?"
    r"\.com/api/webhooks/\d+/|api\.telegram\.org/bot|outlook\.office\.com/webhook/)"
    r"(?P<hooksecret>[^?#\s]+)", re.I)
_REFERENCE = re.compile(r"\$\{?[A-Za-z_]")


def url_token(value: str) -> tuple[str, str] | None:
    """(scheme, secret) of a notification or webhook URL that carries a token outside any
    `user:password@`; None when there is none or it is a `${VARIABLE}`."""
    if "://" not in value:
        return None
    match = _URL_TOKEN_USER.search(value)
    if match and match.group("scheme").lower() in TOKEN_IN_USER:
        scheme, secret = match.group("scheme").lower(), match.group("secret")
    else:
        found = _URL_TOKEN_PATH.search(value)
        if found is None:
            return None
        if found.group("hook"):
            scheme, secret = found.group("hook").lower(), found.group("hooksecret")
        else:
            scheme, secret = found.group("scheme").lower(), found.group("secret")
            if scheme in ("gotify",):                 # gotify://HOST/TOKEN
                secret = secret.partition("/")[2]
            elif scheme == "discord" and "/" in secret:     # Apprise: discord://ID/TOKEN
                secret = secret.partition("/")[2]
            elif scheme == "tgram":                   # tgram://BOT_TOKEN/CHAT_ID
                secret = secret.partition("/")[0]
        secret = secret.rstrip("/")
    if len(secret) < 8 or _REFERENCE.search(secret) or secret.startswith("<"):
        return None
    return scheme, secret
