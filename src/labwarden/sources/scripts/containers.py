"""The container and service names a script gives to `docker …` and `docker compose …`
(`ContainerUse`), each with its line and, for Compose, what says which project is meant
(`-p`, `-f`, `--project-directory`, or the last `cd`); and the container names the script
creates itself (`docker run --name`, `docker create --name`, `docker rename`).

A name held in a variable is checked when the script says what it holds: a `for` list of
literal words (`for c in paperless-db paperless-broker; do docker restart "$c"`), or a
variable assigned a literal once (`DB=paperless-db` … `docker exec "$DB" …`, and
`"${STACK}-db"`); each value is a use of its own, with `via` naming the variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labwarden.sources.scripts.words import Command, Word


@dataclass(slots=True)
class ContainerUse:
    """A container (docker …) or service (docker compose …) name given to a command."""

    name: str
    kind: str                        # container | service
    verb: str                        # exec, logs, cp…
    line: int
    command: str                     # the command up to the name, for evidence
    dynamic: bool = False            # a variable or substitution: not checkable
    project_name: str | None = None  # docker compose -p NAME
    project_file: str | None = None  # docker compose -f FILE
    project_dir: str | None = None   # --project-directory DIR, or the last `cd DIR`
    origin: str = ""
    via: str = ""                    # the variable the name came from (`$c`), "" if written


# Options taking a value, per verb (those not listed are flags).
_DOCKER_GLOBAL_VALUE = frozenset({"-H", "--host", "-c", "--context", "--config", "-l",
                                  "--log-level", "--tlscacert", "--tlscert", "--tlskey"})
_CONTAINER_VERBS = {
    # verb: (options with a value, how many names: 1 or None for all)
    "exec": ({"-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir", "--detach-keys"},
             1),
    "logs": ({"-n", "--tail", "--since", "--until"}, 1),
    "stop": ({"-t", "--time", "--timeout", "-s", "--signal"}, None),
    "restart": ({"-t", "--time", "--timeout", "-s", "--signal"}, None),
    "kill": ({"-s", "--signal"}, None),
    "rm": (set(), None),
    "start": ({"--detach-keys"}, None),
    "inspect": ({"-f", "--format", "--type"}, None),
    "stats": ({"--format"}, None),
    "top": (set(), 1),
    "port": (set(), 1),
    "pause": (set(), None),
    "unpause": (set(), None),
    "wait": ({"--condition"}, None),
    "attach": ({"--detach-keys"}, 1),
    "rename": (set(), 1),
    "diff": (set(), 1),
    "export": ({"-o", "--output"}, 1),
    "commit": ({"-a", "--author", "-c", "--change", "-m", "--message"}, 1),
    "update": ({"--blkio-weight", "--cpu-period", "--cpu-quota", "--cpu-rt-period",
                "--cpu-rt-runtime", "-c", "--cpu-shares", "--cpus", "--cpuset-cpus",
                "--cpuset-mems", "-m", "--memory", "--memory-reservation", "--memory-swap",
                "--pids-limit", "--restart"}, None),
    "cp": (set(), None),
}
_COMPOSE_GLOBAL_VALUE = frozenset({"-f", "--file", "-p", "--project-name", "--project-directory",
                                   "--env-file", "--profile", "--ansi", "--parallel",
                                   "--progress"})
_COMPOSE_VERBS = {
    "exec": ({"-e", "--env", "-u", "--user", "-w", "--workdir", "--index"}, 1),
    "run": ({"-e", "--env", "-u", "--user", "-w", "--workdir", "-p", "--publish", "-v",
             "--volume", "-l", "--label", "--name", "--entrypoint", "--cap-add", "--cap-drop",
             "--env-from-file", "--pull"}, 1),
    "port": ({"--index", "--protocol"}, 1),
    "logs": ({"-n", "--tail", "--since", "--until", "--index"}, None),
    "restart": ({"-t", "--timeout"}, None),
    "stop": ({"-t", "--timeout"}, None),
    "start": (set(), None),
    "kill": ({"-s", "--signal"}, None),
    "rm": (set(), None),
    "pause": (set(), None),
    "unpause": (set(), None),
    "top": (set(), None),
    "ps": ({"--format", "--filter", "--status"}, None),
    "up": ({"--scale", "-t", "--timeout", "--exit-code-from", "--attach", "--no-attach",
            "--wait-timeout", "--pull"}, None),
    "create": ({"--scale", "--pull"}, None),
    "pull": ({"--policy"}, None),
    "build": ({"--build-arg", "--ssh", "--builder", "-m", "--memory", "--progress"}, None),
    "images": ({"--format"}, None),
    "events": (set(), None),
    "attach": ({"--detach-keys", "--index"}, 1),
    "stats": ({"--format"}, None),
    "wait": (set(), None),
    "cp": ({"--index"}, None),
}
_DYNAMIC = re.compile(r"[$`*?\[\]{}]")


def _options_and_positionals(args: list[Word], value_opts, interspersed: bool = True
                             ) -> tuple[dict[str, str], list[Word]]:
    """Options and positional words. Docker's CLI reads options after positionals too
    (`docker stop web -t 5`), except where the rest is a command (`exec`, `run`)."""
    options: dict[str, str] = {}
    positionals: list[Word] = []
    i = 0
    while i < len(args):
        word = args[i]
        text = word.value
        if text == "--":
            positionals.extend(args[i + 1:])
            break
        if text.startswith("-") and len(text) > 1 and (interspersed or not positionals):
            if text.startswith("--"):
                name, eq, value = text.partition("=")
                if not eq and name in value_opts and i + 1 < len(args):
                    value = args[i + 1].value
                    i += 1
                options[name] = value
            else:
                for k, ch in enumerate(text[1:], start=1):
                    flag = "-" + ch
                    if flag in value_opts:
                        value = text[k + 1:]
                        if not value and i + 1 < len(args):
                            value = args[i + 1].value
                            i += 1
                        options[flag] = value
                        break
                    options[flag] = ""
            i += 1
            continue
        positionals.append(word)
        i += 1
    return options, positionals


def _evidence(program: str, words: list[Word], upto: Word) -> str:
    out = [program]
    for word in words:
        out.append(word.raw)
        if word is upto:
            break
    return " ".join(out)


_DECLARE = frozenset({"export", "readonly", "local", "declare", "typeset"})
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
MAX_EXPANSIONS = 32


def known_values(commands: list[Command], loop_values: dict | None = None
                 ) -> dict[str, tuple[str, ...]]:
    """What variables hold when the script says so: a loop variable whose only `for` list
    is literal words, or a variable assigned once, a literal, and never read into."""
    assigned: dict[str, list[str | None]] = {}

    def note(name: str, value: str | None) -> None:
        assigned.setdefault(name, []).append(value)

    for command in commands:
        for name, word in command.assignments:
            note(name, word.literal)
        program, args, _ = command.unwrapped()
        if program in _DECLARE:
            for word in args:
                match = _ASSIGNMENT.fullmatch(word.value)
                if match:
                    literal = word.literal
                    value = _ASSIGNMENT.fullmatch(literal) if literal is not None else None
                    note(match.group(1), value.group(2) if value else None)
        elif program in ("read", "mapfile", "readarray", "getopts"):
            for word in args:
                if word.literal and not word.literal.startswith("-"):
                    note(word.literal, None)
    values: dict[str, tuple[str, ...]] = {}
    for name, found in assigned.items():
        if len(found) == 1 and found[0] and not _DYNAMIC.search(found[0]):
            values[name] = (found[0],)
    for name, lists in (loop_values or {}).items():
        values.pop(name, None)
        if len(lists) == 1 and lists[0] and name not in assigned and \
                all(w.literal and not _DYNAMIC.search(w.literal) for w in lists[0]):
            values[name] = tuple(w.literal for w in lists[0])
    return values


def _expand(word: Word, values: dict[str, tuple[str, ...]]) -> list[tuple[str, bool, str]]:
    """(name, dynamic, via) for each value a word can have: itself when literal, each value
    of the known variables it is made of, else itself as dynamic."""
    literal = word.literal
    if literal is not None or not values:
        value = word.value
        return [(value, bool(_DYNAMIC.search(value)) or literal is None, "")]
    results: list[tuple[str, list[str]]] = [("", [])]
    for part in word.parts:
        if part.kind == "lit":
            results = [(text + part.text, via) for text, via in results]
        elif part.kind == "param" and part.op in ("", ":-", "-") and part.name in values:
            results = [(text + v, via + [part.name]) for text, via in results
                       for v in values[part.name]]
            if len(results) > MAX_EXPANSIONS:
                break
        else:
            return [(word.value, True, "")]
    if len(results) > MAX_EXPANSIONS:
        return [(word.value, True, "")]
    return [(text, bool(_DYNAMIC.search(text)), ", ".join(f"${n}" for n in dict.fromkeys(via)))
            for text, via in results]


def container_uses(commands: list[Command], loop_values: dict | None = None
                   ) -> tuple[list[ContainerUse], set[str]]:
    """The names docker and docker compose commands are given, and the container names the
    script creates (`docker run --name X`, `docker create --name X`, `docker rename A X`)."""
    values = known_values(commands, loop_values)
    uses: list[ContainerUse] = []
    created: set[str] = set()
    cwd: str | None = None
    for command in commands:
        program, args, _ = command.unwrapped()
        if program in ("cd", "pushd") and not command.origin:
            target = args[0].literal if args else None
            cwd = target if target and target != "-" else None
            continue
        if program == "docker":
            _, rest = _options_and_positionals(args, _DOCKER_GLOBAL_VALUE, False)
            if not rest or rest[0].literal is None:
                continue
            sub = rest[0].literal
            tail = rest[1:]
            if sub == "compose":
                uses.extend(_compose_uses(command, "docker compose", tail, cwd, values))
                continue
            label = "docker"
            if sub == "container" and tail and tail[0].literal:
                sub, tail, label = tail[0].literal, tail[1:], "docker container"
            if sub in ("run", "create"):
                opts, _ = _options_and_positionals(tail, {"--name"} | _RUN_VALUE)
                if opts.get("--name") and not _DYNAMIC.search(opts["--name"]):
                    created.add(opts["--name"])
                continue
            if sub == "rename":
                _, names = _options_and_positionals(tail, set())
                if len(names) > 1 and names[1].literal:
                    created.add(names[1].literal)
            uses.extend(_container_verb_uses(command, sub, tail, label, values))
        elif program == "docker-compose":
            uses.extend(_compose_uses(command, "docker-compose", args, cwd, values))
    return uses, created


# `docker run` options with a value: enough to find --name among them.
_RUN_VALUE = frozenset({"-a", "--attach", "-c", "--cpu-shares", "--cidfile", "--cpus", "-e",
                        "--env", "--env-file", "--entrypoint", "-h", "--hostname", "-l",
                        "--label", "--log-driver", "--log-opt", "-m", "--memory", "--mount",
                        "--network", "--net", "-p", "--publish", "--restart", "-u", "--user",
                        "-v", "--volume", "-w", "--workdir", "--platform", "--pull",
                        "--add-host", "--device", "--dns", "--cap-add", "--cap-drop",
                        "--security-opt", "--tmpfs", "--ulimit", "--volumes-from",
                        "--ip", "--network-alias", "--stop-signal", "--stop-timeout",
                        "--health-cmd", "--shm-size", "--runtime", "--group-add"})


def _container_verb_uses(command: Command, verb: str, args: list[Word],
                         label: str = "docker", values: dict | None = None
                         ) -> list[ContainerUse]:
    spec = _CONTAINER_VERBS.get(verb)
    if spec is None:
        return []
    value_opts, count = spec
    options, positionals = _options_and_positionals(args, value_opts, verb != "exec")
    if verb == "inspect" and options.get("--type", "container") != "container":
        return []
    uses = []
    if verb == "cp":
        for word in positionals[:2]:
            value = word.value
            prefix, colon, _ = value.partition(":")
            if colon and prefix and "/" not in prefix and prefix not in (".", ".."):
                uses.append(ContainerUse(prefix, "container", verb, command.line,
                                         _evidence(f"{label} cp", args, word),
                                         bool(_DYNAMIC.search(prefix)), origin=command.origin))
        return uses
    for word in positionals[:count] if count else positionals:
        for value, dynamic, via in _expand(word, values or {}):
            evidence = _evidence(f"{label} {verb}", args, word)
            uses.append(ContainerUse(value, "container", verb, command.line,
                                     evidence.replace(word.raw, value) if via else evidence,
                                     dynamic, origin=command.origin, via=via))
    return uses


def _compose_uses(command: Command, program: str, args: list[Word],
                  cwd: str | None, values: dict | None = None) -> list[ContainerUse]:
    options, rest = _options_and_positionals_until_verb(args)
    if not rest or rest[0].literal not in _COMPOSE_VERBS:
        return []
    verb = rest[0].literal
    value_opts, count = _COMPOSE_VERBS[verb]
    _, positionals = _options_and_positionals(rest[1:], value_opts,
                                              verb not in ("exec", "run"))
    project_name = options.get("-p") or options.get("--project-name")
    project_file = options.get("-f") or options.get("--file")
    project_dir = options.get("--project-directory") or cwd
    uses = []
    if verb == "cp":
        names = []
        for word in positionals[:2]:
            prefix, colon, _ = word.value.partition(":")
            if colon and prefix and "/" not in prefix:
                names.append((prefix, word))
    else:
        chosen = positionals[:count] if count else positionals
        names = [(w.value, w) for w in chosen]
    for name, word in names:
        if verb in ("up", "create") and "=" in name:
            continue
        expanded = [(name, bool(_DYNAMIC.search(name)) or word.literal is None, "")] \
            if verb == "cp" else _expand(word, values or {})
        for value, dynamic, via in expanded:
            evidence = _evidence(f"{program}", args, word)
            uses.append(ContainerUse(
                value, "service", verb, command.line,
                evidence.replace(word.raw, value) if via else evidence,
                dynamic, project_name=_dynamic_none(project_name),
                project_file=_dynamic_none(project_file), project_dir=_dynamic_none(project_dir),
                origin=command.origin, via=via))
    return uses


def _dynamic_none(value: str | None) -> str | None:
    return None if value is None or _DYNAMIC.search(value) else value


def _options_and_positionals_until_verb(args: list[Word]):
    """Compose's global options (before the verb), and the words from the verb on."""
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        text = args[i].value
        if not text.startswith("-") or text == "-":
            break
        name, eq, value = text.partition("=")
        if not eq and name in _COMPOSE_GLOBAL_VALUE and i + 1 < len(args):
            value = args[i + 1].value
            i += 1
        options.setdefault(name, value)
        i += 1
    return options, args[i:]
