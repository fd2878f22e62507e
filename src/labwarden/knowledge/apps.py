"""Settings of well-known homelab applications that open them to strangers: public sign-up
left on, anonymous access, a login page that logs everyone in, a web UI with no password.
Judged by SEC009 (`rules/secrets.py`).

Each entry names the images it applies to, the environment variables that carry the
setting (an app may spell it several ways: Gitea and Forgejo, Pi-hole v5 and v6) and the
values that open the app. Only values the Compose file sets are judged: an app configured
in its own file (Gitea's app.ini, Vaultwarden's config.json) is not guessed at, except
where the entry says the app is open when nothing is set at all (`open_when_unset`).

Extend the table here; the rule only reads it.
"""

from __future__ import annotations

from labwarden._record import FrozenRecord, set_frozen
from labwarden.model import Severity

H, M, L = Severity.HIGH, Severity.MEDIUM, Severity.LOW
_TRUE = ("true", "1", "yes", "on", "t", "y")
_FALSE = ("false", "0", "no", "off", "f", "n")
EMPTY = ("",)


class OpenSetting(FrozenRecord):
    """One way an application is opened to strangers by its settings."""

    __slots__ = ("images", "product", "variables", "values", "severity", "what", "fix",
                 "open_when_unset", "unless", "worse", "unless_flags")
    images: tuple[str, ...]
    product: str
    variables: tuple[str, ...]
    values: tuple[str, ...] | None
    severity: Severity
    what: str
    fix: str
    open_when_unset: bool
    unless: tuple[str, ...]
    worse: tuple[str, tuple[str, ...], Severity] | None
    unless_flags: tuple[str, ...]

    def __init__(self, images: tuple[str, ...], product: str, variables: tuple[str, ...],
                 values: tuple[str, ...] | None, severity: Severity, what: str, fix: str,
                 open_when_unset: bool = False, unless: tuple[str, ...] = (),
                 worse: tuple[str, tuple[str, ...], Severity] | None = None,
                 unless_flags: tuple[str, ...] = ()):
        set_frozen(self, "images", images)          # as knowledge.images.matches reads them
        set_frozen(self, "product", product)
        set_frozen(self, "variables", variables)    # any spelling the app reads (case kept)
        # Values that open the app, lower-cased; None: any non-empty value does.
        set_frozen(self, "values", values)
        set_frozen(self, "severity", severity)
        set_frozen(self, "what", what)              # what a stranger can do, for the message
        set_frozen(self, "fix", fix)
        # No variable set (and none of `unless`) is open too: the app's own default.
        set_frozen(self, "open_when_unset", open_when_unset)
        set_frozen(self, "unless", unless)          # any of these set: the app is closed
        # (variable, values, severity): another setting that makes it worse.
        set_frozen(self, "worse", worse)
        set_frozen(self, "unless_flags", unless_flags)  # a command-line flag that closes it

    def opens(self, value: str | None) -> bool:
        if value is None:
            return False
        text = value.strip().strip("'\"").lower()
        if text.startswith("$argon2"):
            return False            # a hash of the secret: nothing a stranger can use
        return text != "" if self.values is None else text in self.values


GRAFANA = ("grafana/grafana", "grafana/grafana-oss", "grafana/grafana-enterprise")
GITEA = ("gitea/gitea", "forgejo/forgejo", "codeberg.org/forgejo/forgejo",
         "forgejo-clone/forgejo")

OPEN_SETTINGS: tuple[OpenSetting, ...] = (
    OpenSetting(("vaultwarden/server",), "Vaultwarden", ("SIGNUPS_ALLOWED",), _TRUE, H,
                "anyone who reaches it can create an account in the password manager",
                "set `SIGNUPS_ALLOWED: \"false\"` and invite users from the admin page"),
    OpenSetting(("vaultwarden/server",), "Vaultwarden", ("ADMIN_TOKEN",), None, L,
                "the admin page token is kept in plain text rather than as an Argon2 hash",
                "hash it with `vaultwarden hash` and set the `$argon2id$…` string (as "
                "`$$argon2id$$…` in Compose)",
                unless=("ADMIN_TOKEN_FILE",)),
    OpenSetting(GITEA, "Gitea/Forgejo", ("GITEA__service__DISABLE_REGISTRATION",
                                         "FORGEJO__service__DISABLE_REGISTRATION",
                                         "GITEA__SERVICE__DISABLE_REGISTRATION",
                                         "FORGEJO__SERVICE__DISABLE_REGISTRATION"), _FALSE, H,
                "anyone who reaches it can register an account and push code",
                "set `GITEA__service__DISABLE_REGISTRATION: \"true\"` (Forgejo: "
                "`FORGEJO__service__…`) and create accounts as the admin"),
    OpenSetting(GRAFANA, "Grafana", ("GF_AUTH_ANONYMOUS_ENABLED",), _TRUE, M,
                "anyone who reaches it sees the dashboards without logging in",
                "set `GF_AUTH_ANONYMOUS_ENABLED: \"false\"`, or keep it only on an "
                "organisation that holds public dashboards",
                worse=("GF_AUTH_ANONYMOUS_ORG_ROLE", ("editor", "admin"), H)),
    OpenSetting(GRAFANA, "Grafana", ("GF_USERS_ALLOW_SIGN_UP",), _TRUE, H,
                "anyone who reaches it can create an account",
                "set `GF_USERS_ALLOW_SIGN_UP: \"false\"` and invite users"),
    OpenSetting(("authelia/authelia",), "Authelia", ("AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY",),
                ("bypass",), H,
                "every application behind it that no rule names is served without a login",
                "set the default policy to `deny` (or `one_factor`/`two_factor`) and list "
                "the public paths in rules"),
    OpenSetting(("paperless-ngx/paperless-ngx", "paperlessngx/paperless-ngx"), "Paperless-ngx",
                ("PAPERLESS_AUTO_LOGIN_USERNAME",), None, H,
                "every visitor is logged in as that user, with its documents",
                "remove `PAPERLESS_AUTO_LOGIN_USERNAME`"),
    OpenSetting(("pihole/pihole",), "Pi-hole", ("WEBPASSWORD", "FTLCONF_webserver_api_password"),
                EMPTY, H, "the admin interface and API need no password",
                "set `FTLCONF_webserver_api_password` (v6; `WEBPASSWORD` in v5) from a secret, "
                "or leave it unset for a random one"),
    OpenSetting(("mealie-recipes/mealie", "hkotel/mealie"), "Mealie", ("ALLOW_SIGNUP",), _TRUE, M,
                "anyone who reaches it can create an account",
                "set `ALLOW_SIGNUP: \"false\"` and invite users"),
    OpenSetting(("linuxserver/code-server", "codercom/code-server"), "code-server",
                ("PASSWORD", "HASHED_PASSWORD"), EMPTY, H,
                "no password is set: the editor, a shell in the container, needs no login",
                "set `HASHED_PASSWORD` (or `PASSWORD` from a secret)",
                open_when_unset=True, unless=("FILE__PASSWORD", "FILE__HASHED_PASSWORD",
                                              "PASSWORD_FILE")),
    OpenSetting(("portainer/portainer-ce", "portainer/portainer-ee", "portainer/portainer"),
                "Portainer", (), None, L,
                "until an administrator exists, the first visitor (in the minutes after each "
                "start) creates it and controls the Docker host",
                "set the administrator at start-up: `command: --admin-password-file "
                "/run/secrets/portainer_admin`",
                open_when_unset=True, unless_flags=("--admin-password", "--admin-password-file")),
)


def _index() -> tuple[dict[str, tuple[OpenSetting, ...]], dict[str, tuple[OpenSetting, ...]]]:
    """The settings by repository (`vaultwarden/server`) and by last name (`mealie`), as
    knowledge.images.matches reads candidates: the rule asks once per service, not once per
    entry."""
    from labwarden.knowledge.images import repository

    by_repo: dict[str, list[OpenSetting]] = {}
    by_name: dict[str, list[OpenSetting]] = {}
    for setting in OPEN_SETTINGS:
        for image in setting.images:
            wanted = repository(image)
            (by_repo if "/" in wanted else by_name).setdefault(wanted, []).append(setting)
    return ({k: tuple(v) for k, v in by_repo.items()}, {k: tuple(v) for k, v in by_name.items()})


BY_REPOSITORY, BY_NAME = _index()


def settings_for(image: str | None) -> tuple[OpenSetting, ...]:
    """The entries that apply to an image (knowledge.images.matches' semantics)."""
    from labwarden.knowledge.images import repository

    repo = repository(image)
    if not repo:
        return ()
    found = BY_REPOSITORY.get(repo, ()) + BY_NAME.get(repo.rsplit("/", 1)[-1], ())
    # In table order, each once (an entry may list a repository and a name that both match).
    return tuple(s for s in OPEN_SETTINGS if s in found) if len(found) > 1 else found

