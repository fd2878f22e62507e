"""`labwarden serve [ROOT]`: the web console over a lab's files (src/labwarden/console/).

    labwarden serve                          # 127.0.0.1:8765, the lab in this directory
    labwarden serve ~/homelab --every 6h     # re-audit every six hours
    labwarden serve --add-user alice         # add a console user (password asked twice)
    labwarden serve --host 0.0.0.0 --tls-cert c.pem --tls-key k.pem   # needs users or a token

Beyond loopback it refuses to start unless users (`--add-user`) or a token
(`LABWARDEN_CONSOLE_TOKEN`, `--token-file`) are configured, and it says at start which.
"""

from __future__ import annotations

import os
import sys

EXIT_OK, EXIT_ERROR = 0, 2


def register(commands) -> None:
    from labwarden.commands.checklist import argparse_suppress
    from labwarden.commands.common import iso_date, whole_number

    parser = commands.add_parser("serve", help="the web console: walk the checklist, sign "
                                 "off, archive, watch the lab")
    parser.add_argument("root", nargs="?", default=".", metavar="ROOT",
                        help="the lab: a folder with labwarden.yaml (default: here)")
    parser.add_argument("--config", metavar="FILE", help="labwarden.yaml (instead of ROOT's)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; anything else needs "
                        "users or a token)")
    parser.add_argument("--port", type=whole_number(0, 65535), default=8765,
                        help="port to listen on (default 8765; 0: any free port)")
    parser.add_argument("--every", metavar="DURATION",
                        help="re-audit the lab this often (90m, 6h, 1d)")
    parser.add_argument("--token-file", metavar="FILE", help="a shared token for logging in "
                        "(or the environment variable LABWARDEN_CONSOLE_TOKEN)")
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert")
    parser.add_argument("--add-user", metavar="NAME", help="add (or change) a console user "
                        "and exit; the password is read from the terminal, or from stdin "
                        "with --password-stdin")
    parser.add_argument("--password-stdin", action="store_true",
                        help="with --add-user: read the password from standard input "
                             "(scripts), not from a prompt")
    parser.add_argument("--today", metavar="DATE", type=iso_date, help=argparse_suppress())
    live = parser.add_argument_group("live evidence (as `checklist --live`)")
    live.add_argument("--live", action="store_true",
                      help="each audit also probes the services' URLs and hosts")
    live.add_argument("--ca-file", metavar="FILE", help="trust this CA for the URLs")
    live.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                      help="seconds each live check may take (default 5)")
    live.add_argument("--ssh-key", metavar="FILE", help="read the hosts over SSH")
    live.add_argument("--check-default-credentials", action="store_true",
                      help="try the known default passwords of the services found")
    parser.set_defaults(handler=cmd_serve)


def is_loopback(host: str) -> bool:
    import ipaddress              # here: every other command builds this parser too

    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def config_path(args) -> str:
    from labwarden.config import ConfigError, find_config

    if args.config:
        return args.config
    if not os.path.isdir(args.root):
        raise ConfigError(f"serve {args.root}: not a directory")
    found = find_config([args.root])
    if found is None:
        raise ConfigError(f"serve {args.root}: no labwarden.yaml there or above it "
                          "(`labwarden init --write` proposes one)")
    return found


def cmd_serve(args) -> int:
    from labwarden.errors import UsageError

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError("serve needs the console extra: pip install 'labwarden[console]' "
                         "(Starlette, uvicorn, python-multipart)") from None
    from labwarden.console.auth import (Auth, AuthError, add_user, check_user_name, load_token,
                                        load_users)
    from labwarden.console.lab import Lab, context_args
    from labwarden.console.scheduler import parse_every

    lab_args = context_args(config_path(args), live=args.live, ca_file=args.ca_file,
                            timeout=args.timeout, ssh_key=args.ssh_key,
                            check_default_credentials=args.check_default_credentials,
                            today=args.today)
    try:
        every = parse_every(args.every) if args.every else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("serve: --tls-cert and --tls-key go together")
    lab = Lab(lab_args)
    try:
        if args.add_user:
            check_user_name(args.add_user)            # before asking for a password
            path = add_user(lab.state_dir, args.add_user, _password(args))
            sys.stdout.write(f"user {args.add_user} saved in {os.path.relpath(path)}\n")
            return EXIT_OK
        auth = Auth(load_users(lab.state_dir), load_token(args.token_file))
    except AuthError as exc:
        raise UsageError(f"serve: {exc}") from None
    loopback = is_loopback(args.host)
    if not loopback and not auth.required:
        sys.stderr.write(f"labwarden: serve: refusing to listen on {args.host}: beyond "
                         "loopback the console needs users (`labwarden serve --add-user "
                         "NAME`) or a token (LABWARDEN_CONSOLE_TOKEN or --token-file); it "
                         "shows every weakness of the lab\n")
        return EXIT_ERROR
    https = bool(args.tls_cert)
    mode = ("users " + ", ".join(sorted(auth.users)) if auth.users else "") + \
        (" and " if auth.users and auth.token else "") + ("a token" if auth.token else "")
    sys.stderr.write(f"labwarden console: auditing {lab.inventory.base_dir} …\n")
    lab.audit_now("start")
    if lab.status.error:
        sys.stderr.write(f"labwarden: serve: the first audit failed: {lab.status.error}\n")
        return EXIT_ERROR
    scheme = "https" if https else "http"
    sys.stderr.write(
        f"labwarden console on {scheme}://{_shown(args.host)}:{args.port}/ — "
        + (f"login required ({mode})" if auth.required else
           "no login (loopback only; add users or a token to listen elsewhere)")
        + (f"; re-audit every {args.every}" if every else "") + "\n")
    return serve(lab, auth, args.host, args.port, loopback, https, every,
                 args.tls_cert, args.tls_key)


def serve(lab, auth, host: str, port: int, loopback: bool, https: bool, every,
          cert: str | None = None, key: str | None = None) -> int:
    import uvicorn

    from labwarden.console.app import create_app

    app = create_app(lab, auth, loopback_only=loopback, https=https, every=every,
                     extra_routes=metrics_routes(lab.args))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                ssl_certfile=cert, ssl_keyfile=key, server_header=False)
    return EXIT_OK


def metrics_routes(args) -> list:
    """/metrics for Prometheus, served without a session: it carries no secret and no
    finding text (labwarden.metrics). Left out, with a line that says so, when
    prometheus-client is not installed."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        sys.stderr.write("labwarden console: no /metrics (pip install prometheus-client, "
                         "or the console extra)\n")
        return []
    from starlette.routing import Route

    from labwarden.metrics.exposition import metrics_app

    app = metrics_app(args.config, live=args.live, ca_file=args.ca_file, timeout=args.timeout,
                      ssh_key=args.ssh_key)
    # A Route, not a Mount: a Mount answers /metrics with a redirect to /metrics/, and
    # Prometheus asks for /metrics. An object that is not a function is served by a Route
    # as the ASGI app it is.
    return [Route("/metrics", _Asgi(app))]


class _Asgi:
    __slots__ = ("app",)

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _password(args) -> str:
    import getpass

    from labwarden.console.auth import AuthError

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"password for {args.add_user}: ")
    if getpass.getpass("again: ") != first:
        raise AuthError("the passwords differ; nothing saved")
    return first
