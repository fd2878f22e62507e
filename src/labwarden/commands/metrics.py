"""`labwarden metrics [--listen HOST:PORT] [ROOT]`: serve the lab's metrics to Prometheus,
for a lab without the console (`labwarden serve` mounts the same app at /metrics).

The lab is evaluated once before the server starts, so a broken labwarden.yaml is the
usual one-line error and exit 2, not a server that answers with nothing. Afterwards a failed
evaluation keeps the last samples and sets `labwarden_evaluation_ok 0`.

It binds 127.0.0.1 by default. Another address is allowed (a Prometheus on another machine
must reach it) and said at start: the metrics carry no secret and no finding text, but they
do tell whoever can reach the port how far each service is from its gate.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_ERROR = 0, 2
DEFAULT_LISTEN = "127.0.0.1:9817"
OFFLINE_TTL_S, LIVE_TTL_S = 60.0, 900.0


def listen_address(text: str) -> tuple[str, int]:
    """An argparse type for HOST:PORT (`[::1]:9817` for IPv6); port 0 picks a free one."""
    import argparse

    host, colon, port = text.rpartition(":")
    if not colon or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. {DEFAULT_LISTEN})")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: the port must be a number from 0 to "
                                         "65535")
    return host, int(port)


def register(commands) -> None:
    from labwarden.commands.common import seconds

    metrics = commands.add_parser("metrics", help="serve the lab's score, risk, gate, "
                                  "findings, certificate and backup ages to Prometheus")
    metrics.add_argument("root", nargs="?", default=".", metavar="ROOT",
                         help="the lab's folder, holding labwarden.yaml (default: here)")
    metrics.add_argument("--listen", type=listen_address, default=DEFAULT_LISTEN,
                         metavar="HOST:PORT", help=f"default {DEFAULT_LISTEN}")
    metrics.add_argument("--ttl", type=seconds, default=None, metavar="SECONDS",
                         help="reuse one evaluation of the lab for this long (default "
                         f"{OFFLINE_TTL_S:g}, or {LIVE_TTL_S:g} with --live: each live "
                         "evaluation probes every URL and host again)")
    live = metrics.add_argument_group("live evidence")
    live.add_argument("--live", action="store_true", help="each evaluation also probes the "
                      "services' URLs and hosts (TLS certificates, headers, SSH…)")
    live.add_argument("--ca-file", metavar="FILE", help="trust this CA for the URLs")
    live.add_argument("--timeout", type=seconds, default=5.0, metavar="SECONDS",
                      help="seconds each live check may take (default 5)")
    live.add_argument("--ssh-key", metavar="FILE", help="read the hosts over SSH")
    metrics.set_defaults(handler=cmd_metrics)


def cmd_metrics(args) -> int:
    import ipaddress
    import signal
    import threading

    from labwarden.errors import UsageError

    try:
        from prometheus_client import start_http_server
    except ImportError:
        raise UsageError("metrics needs prometheus-client: pip install 'labwarden[console]'") \
            from None
    from labwarden.metrics.exposition import LabCollector, make_registry

    ttl = args.ttl if args.ttl is not None else LIVE_TTL_S if args.live else OFFLINE_TTL_S
    collector = LabCollector(args.root, ttl, live=args.live, ca_file=args.ca_file,
                             timeout=args.timeout, ssh_key=args.ssh_key)
    state = collector.refresh()            # a lab that cannot be evaluated: exit 2 here
    host, port = args.listen
    try:
        server, thread = start_http_server(port, host, make_registry(collector))
    except OSError as exc:
        sys.stderr.write(f"labwarden metrics: cannot listen on {host}:{port}: "
                         f"{exc.strerror or exc}\n")
        return EXIT_ERROR
    bound = server.server_port
    shown = f"[{host}]" if ":" in host else host
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        sys.stderr.write(f"labwarden metrics: listening on {shown}:{bound}, beyond this "
                         "machine, without authentication: anyone who reaches it sees each "
                         "service's score, risk and open finding counts (no secret, no "
                         "finding text)\n")
    sys.stdout.write(f"labwarden metrics: serving http://{shown}:{bound}/metrics for "
                     f"{len(state.services)} services (one evaluation per {ttl:g} s at "
                     "most)\n")
    sys.stdout.flush()
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.shutdown()
        server.server_close()
        thread.join(5)
    return EXIT_OK
