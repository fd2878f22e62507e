"""The SSH daemon's configuration as facts: parsed from the files, or read from `sshd -T`.

Two ways in, one fact (`SshdConfig`):

* `parse_sshd_config(path_or_text, read_file=…, glob=…)` reads sshd_config the way sshd
  does (servconf.c): keywords case-insensitive, `Keyword value` or `Keyword=value`, double
  quotes, `#` comments; `Include` with globs (sorted, relative paths under /etc/ssh,
  recursion bounded), also inside a `Match` block; the first value of an option wins;
  `Match` blocks run to the next `Match` or the end of the file that holds them. Every
  value keeps its file and line. Options set only inside `Match` blocks are kept apart as
  *conditional* (with the criteria), or, for a connection described by `match=` (user,
  host, addr, laddr, lport, rdomain, groups), evaluated as sshd would for it.
  Options not set take OpenSSH's defaults (see `DEFAULTS`): `effective` is False.
* `parse_sshd_T(text, file_config=…)` reads the output of `sshd -T`: the daemon's own
  verdict, defaults, aliases and `+`/`-` algorithm lists resolved (`effective` is True).
  Given the parsed files, each value also gets the line that set it, and the files'
  `Match` blocks (which `sshd -T` without `-C` leaves out) come along as conditional.

`collect_sshd(transport)` does both over a host transport (`sshd -T`, `sshd -t`, the
files) and never raises.
"""

from __future__ import annotations

import fnmatch
import glob as globlib
import ipaddress
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from labwarden.model import Diagnostic, Location
from labwarden.sources._read import read_regular

SSHDIR = "/etc/ssh"
DEFAULT_CONFIG = "/etc/ssh/sshd_config"
MAX_INCLUDE_DEPTH = 16                       # servconf.c SERVCONF_MAX_DEPTH
MAX_CONFIG_BYTES = 4 << 20                   # a real one is a few KiB
SSHD_T = "sshd -T"

# OpenSSH's compiled-in defaults (upstream 9.x) for the options the rules read. Debian's
# packaged sshd_config sets UsePAM yes, KbdInteractiveAuthentication no, X11Forwarding yes.
DEFAULTS = {
    "permitrootlogin": "prohibit-password",
    "passwordauthentication": "yes",
    "kbdinteractiveauthentication": "yes",
    "usepam": "no",
    "permitemptypasswords": "no",
    "maxauthtries": "6",
    "port": "22",
    "x11forwarding": "no",
    "authenticationmethods": "any",
    "pubkeyauthentication": "yes",
    "banner": "none",
}

# Old names sshd still accepts for the same option.
ALIASES = {
    "challengeresponseauthentication": "kbdinteractiveauthentication",
    "pubkeyacceptedkeytypes": "pubkeyacceptedalgorithms",
    "hostbasedacceptedkeytypes": "hostbasedacceptedalgorithms",
    "dsaauthentication": "pubkeyauthentication",
}
VALUE_ALIASES = {("permitrootlogin", "without-password"): "prohibit-password"}

# Every keyword OpenSSH 7.x–9.x knows (current, deprecated and unsupported ones, which sshd
# accepts with a warning), plus distribution additions; anything else is a typo sshd -t
# would refuse. One data line (noqa: E501): a word list, read as data, not as code.
KNOWN_KEYWORDS = frozenset(["acceptenv", "addressfamily", "allowagentforwarding", "allowgroups", "allowstreamlocalforwarding", "allowtcpforwarding", "allowusers", "authenticationmethods", "authorizedkeyscommand", "authorizedkeyscommanduser", "authorizedkeysfile", "authorizedkeysfile2", "authorizedprincipalscommand", "authorizedprincipalscommanduser", "authorizedprincipalsfile", "banner", "casignaturealgorithms", "channeltimeout", "chrootdirectory", "ciphers", "clientalivecountmax", "clientaliveinterval", "compression", "debianbanner", "denygroups", "denyusers", "disableforwarding", "exposeauthinfo", "fingerprinthash", "forcecommand", "gatewayports", "gssapiauthentication", "gssapicleanupcredentials", "gssapienablek5users", "gssapikexalgorithms", "gssapikeyexchange", "gssapistorecredentialsonrekey", "gssapistrictacceptorcheck", "hostbasedacceptedalgorithms", "hostbasedauthentication", "hostbasedusesnamefrompacketonly", "hostcertificate", "hostkey", "hostkeyagent", "hostkeyalgorithms", "ignorerhosts", "ignoreuserknownhosts", "include", "ipqos", "kbdinteractiveauthentication", "kerberosauthentication", "kerberosgetafstoken", "kerberosorlocalpasswd", "kerberosticketcleanup", "kexalgorithms", "keyregenerationinterval", "listenaddress", "logingracetime", "loglevel", "logverbose", "macs", "match", "maxauthtries", "maxsessions", "maxstartups", "modulifile", "passwordauthentication", "permitemptypasswords", "permitlisten", "permitopen", "permitrootlogin", "permittty", "permittunnel", "permituserenvironment", "permituserrc", "persourcemaxstartups", "persourcenetblocksize", "persourcepenalties", "persourcepenaltyexemptlist", "pidfile", "port", "printlastlog", "printmotd", "protocol", "pubkeyacceptedalgorithms", "pubkeyauthoptions", "pubkeyauthentication", "rdomain", "refuseconnection", "rekeylimit", "requiredrsasize", "revokedkeys", "rhostsrsaauthentication", "rsaauthentication", "securitykeyprovider", "serverkeybits", "setenv", "sshdsessionpath", "sshdauthpath", "streamlocalbindmask", "streamlocalbindunlink", "strictmodes", "subsystem", "syslogfacility", "tcpkeepalive", "trustedusercakeys", "unusedconnectiontimeout", "usedns", "uselogin", "usepam", "useprivilegeseparation", "versionaddendum", "x11displayoffset", "x11forwarding", "x11uselocalhost", "xauthlocation", "challengeresponseauthentication", "pubkeyacceptedkeytypes", "hostbasedacceptedkeytypes", "dsaauthentication", "skeyauthentication", "kerberostgtpassing", "afstokenpassing", "verifyreversemapping", "reversemappingcheck"])  # noqa: E501

MATCH_CRITERIA = ("all", "user", "group", "host", "address", "localaddress", "localport",
                  "rdomain", "invalid-user")


# --- facts ---------------------------------------------------------------------------------

@dataclass
class SshdOption:
    """One occurrence of an option: `value` as written (arguments joined by one space)."""

    keyword: str                       # lower case, aliases resolved
    value: str
    location: Location | None = None   # where it was set; None for a default
    condition: str | None = None       # "Match User backup" when set inside a Match block
    default: bool = False              # sshd -T's value for an option no file sets

    @property
    def args(self) -> list[str]:
        return self.value.split()

    @property
    def lowered(self) -> str:
        return self.value.strip().lower()


@dataclass
class SshdValidation:
    """The result of `sshd -t`: ok, or the daemon's complaint."""

    ok: bool
    rc: int = 0
    message: str = ""


@dataclass
class SshdConfig:
    """sshd's configuration on one host."""

    source: str                                     # main config path, or "sshd -T"
    host: str = ""                                  # the host it describes ("" for a file)
    options: dict[str, list[SshdOption]] = field(default_factory=dict)   # global, in order
    conditional: list[SshdOption] = field(default_factory=list)         # in Match blocks
    effective: bool = False                         # True: from sshd -T, defaults resolved
    files: list[str] = field(default_factory=list)  # every file read, main first
    validation: SshdValidation | None = None        # sshd -t, when it was run
    error: str | None = None
    diagnostics: list = field(default_factory=list)

    @property
    def asset(self) -> str:
        return f"sshd:{self.host or self.source}"

    @property
    def location(self) -> Location:
        return Location(self.files[0] if self.files else self.source)

    def first(self, keyword: str) -> SshdOption | None:
        values = self.options.get(_canonical(keyword))
        return values[0] if values else None

    def all(self, keyword: str) -> list[SshdOption]:
        return list(self.options.get(_canonical(keyword), ()))

    def value(self, keyword: str) -> tuple[str, SshdOption | None]:
        """(value, the option that set it); a default has no option."""
        option = self.first(keyword)
        if option is not None:
            return option.value, option
        return DEFAULTS.get(_canonical(keyword), ""), None

    def setting(self, keyword: str) -> str:
        """The value in lower case with value aliases resolved (prohibit-password…)."""
        value = self.value(keyword)[0].strip().lower()
        return VALUE_ALIASES.get((_canonical(keyword), value), value)

    def conditional_values(self, keyword: str) -> list[SshdOption]:
        keyword = _canonical(keyword)
        return [o for o in self.conditional if o.keyword == keyword]

    def where(self, option: SshdOption | None) -> Location:
        """Where a finding about `option` points: its line, else the main file."""
        if option is not None and option.location is not None:
            return option.location
        return self.location

    def listen_ports(self) -> list[int]:
        """The ports sshd listens on: ListenAddress ports, else every Port for each
        ListenAddress without one, else the Port values."""
        ports = [int(p) for o in self.all("port") for p in o.args if p.isdigit()] or [22]
        found: list[int] = []
        addresses = self.all("listenaddress")
        for option in addresses:
            port = _address_port(option.args[0] if option.args else "")
            for value in ([port] if port else ports):
                if value not in found:
                    found.append(value)
        return found or list(dict.fromkeys(ports))


def _canonical(keyword: str) -> str:
    keyword = keyword.lower()
    return ALIASES.get(keyword, keyword)


def _address_port(text: str) -> int | None:
    """The port of `host:port`, `[v6]:port`; None for a bare address."""
    text = text.strip()
    if text.startswith("["):
        _, _, rest = text.partition("]")
        return int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if text.count(":") == 1:
        port = text.rpartition(":")[2]
        return int(port) if port.isdigit() else None
    return None


# --- Match --------------------------------------------------------------------------------

@dataclass(frozen=True)
class MatchBlock:
    criteria: tuple[tuple[str, str], ...]     # ((keyword, argument), …), lower-case keyword
    text: str                                  # "Match User backup Address 10.0.0.0/8"
    location: Location | None = None


def _match_patterns(value: str, patterns: str, *, fold: bool) -> bool | None:
    """OpenSSH match_pattern_list: comma list, `!` negates and wins, `*` and `?`."""
    if fold:
        value = value.lower()
        patterns = patterns.lower()
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        pattern = pattern[1:] if negated else pattern
        if fnmatch.fnmatchcase(value, pattern):
            if negated:
                return False
            matched = True
    return matched


def _match_address(address: str, patterns: str) -> bool | None:
    """OpenSSH addr_match_list: CIDR blocks or wildcards, `!` negates."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        pattern = pattern[1:] if negated else pattern
        try:
            hit = ip in ipaddress.ip_network(pattern, strict=False) if "/" in pattern \
                else fnmatch.fnmatchcase(address, pattern)
        except ValueError:
            return None
        if hit:
            if negated:
                return False
            matched = True
    return matched


def evaluate_match(block: MatchBlock, context: dict) -> bool | None:
    """True/False for a connection described by `context`; None when it lacks what the
    block tests (sshd -T -C would refuse such a test too)."""
    result: bool | None = True
    for keyword, argument in block.criteria:
        if keyword == "all":
            outcome: bool | None = True
        elif keyword == "user":
            outcome = (_match_patterns(context["user"], argument, fold=False)
                       if "user" in context else None)
        elif keyword == "group":
            groups = context.get("groups")
            outcome = None if groups is None else any(
                _match_patterns(g, argument, fold=False) for g in groups)
        elif keyword == "host":
            outcome = (_match_patterns(context["host"], argument, fold=True)
                       if "host" in context else None)
        elif keyword in ("address", "localaddress"):
            key = "addr" if keyword == "address" else "laddr"
            outcome = _match_address(context[key], argument) if key in context else None
        elif keyword == "localport":
            outcome = (str(context["lport"]) == argument) if "lport" in context else None
        elif keyword == "rdomain":
            outcome = (_match_patterns(context["rdomain"], argument, fold=False)
                       if "rdomain" in context else None)
        else:
            outcome = None
        if outcome is False:
            return False
        if outcome is None:
            result = None
    return result


def _parse_match(args: list[str], location: Location | None) -> tuple[MatchBlock | None, str]:
    criteria = []
    index = 0
    while index < len(args):
        keyword = args[index].lower()
        if keyword == "all":
            criteria.append(("all", ""))
            index += 1
            continue
        if keyword not in MATCH_CRITERIA or index + 1 >= len(args):
            return None, f"unsupported Match criteria {' '.join(args[index:])!r}"
        criteria.append((keyword, args[index + 1]))
        index += 2
    text = "Match " + " ".join(args)
    return MatchBlock(tuple(criteria), text, location), ""


# --- the file parser ----------------------------------------------------------------------

def split_line(line: str) -> list[str]:
    """sshd's argv_split: whitespace-separated, double quotes group, a token starting with
    `#` ends the line; `Keyword=value` splits at the first `=`."""
    line = line.strip()
    if not line or line.startswith("#"):
        return []
    keyword_end = len(line)
    for index, char in enumerate(line):
        if char in " \t=":
            keyword_end = index
            break
    keyword = line[:keyword_end]
    rest = line[keyword_end:].lstrip(" \t")
    if rest.startswith("="):
        rest = rest[1:].lstrip(" \t")
    args: list[str] = []
    current, quoted, has_token = [], False, False
    for char in rest:
        if quoted:
            if char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"':
            quoted, has_token = True, True
        elif char in " \t":
            if has_token:
                args.append("".join(current))
                current, has_token = [], False
        elif char == "#" and not has_token:
            break
        else:
            current.append(char)
            has_token = True
    if has_token:
        args.append("".join(current))
    return [keyword, *args]


@dataclass
class _Entry:
    option: SshdOption
    blocks: tuple[MatchBlock, ...]


ReadFile = Callable[[str], "str | bytes | None"]
Glob = Callable[[str], list[str]]


class _Parser:
    def __init__(self, read_file: ReadFile, glob: Glob | None, diagnostics: list):
        self.read_file = read_file
        self.glob = glob
        self.diagnostics = diagnostics
        self.entries: list[_Entry] = []
        self.files: list[str] = []

    def text_of(self, path: str) -> str | None:
        data = self.read_file(path)
        if data is None:
            return None
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else data

    def parse(self, path: str, text: str, outer: tuple[MatchBlock, ...], depth: int) -> None:
        self.files.append(path)
        current: tuple[MatchBlock, ...] = outer
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                tokens = split_line(line)
            except ValueError:
                tokens = []
            if not tokens:
                continue
            location = Location(path, number)
            keyword = _canonical(tokens[0])
            args = tokens[1:]
            if keyword == "match":
                block, problem = _parse_match(args, location)
                if block is None:
                    self.diagnostics.append(Diagnostic("warning", "sshd-config", problem,
                                                       location))
                    block = MatchBlock((("unknown", " ".join(args)),),
                                       "Match " + " ".join(args), location)
                current = outer + (block,)
                continue
            if keyword == "include":
                self.include(args, location, current, depth)
                continue
            if keyword not in KNOWN_KEYWORDS:
                self.diagnostics.append(Diagnostic(
                    "warning", "sshd-unknown-option", f"unknown sshd option {tokens[0]!r} "
                    "(sshd refuses to start with it)", location))
            value = " ".join(args)
            if keyword in ("passwordauthentication", "kbdinteractiveauthentication",
                           "permitemptypasswords", "usepam", "x11forwarding",
                           "pubkeyauthentication", "permitrootlogin"):
                value = value.lower()
            condition = " and ".join(b.text for b in current) if current else None
            self.entries.append(_Entry(SshdOption(keyword, value, location, condition),
                                       current))

    def include(self, patterns: list[str], location: Location,
                blocks: tuple[MatchBlock, ...], depth: int) -> None:
        if depth >= MAX_INCLUDE_DEPTH:
            self.diagnostics.append(Diagnostic("warning", "sshd-config",
                                               "Include nested too deeply", location))
            return
        for pattern in patterns:
            if not pattern.startswith("/") and not pattern.startswith("~"):
                pattern = posixpath.join(SSHDIR, pattern)
            if any(c in pattern for c in "*?["):
                if self.glob is None:
                    self.diagnostics.append(Diagnostic(
                        "gap", "sshd-include", f"Include {pattern}: files cannot be listed "
                        "here; options set there are not seen", location))
                    continue
                paths = sorted(self.glob(pattern))
            else:
                paths = [pattern]
            for path in paths:
                text = self.text_of(path)
                if text is None:
                    if not any(c in pattern for c in "*?["):
                        self.diagnostics.append(Diagnostic(
                            "gap", "sshd-include", f"Include {path}: not readable", location))
                    continue
                self.parse(path, text, blocks, depth + 1)


def _local_read(path: str) -> bytes | None:
    """A file of this machine; None when it is not a regular file of at most 4 MiB (a FIFO
    would block the reader) or cannot be read."""
    try:
        return read_regular(path, MAX_CONFIG_BYTES)
    except OSError:
        return None


def parse_sshd_config(path_or_text: str, read_file: ReadFile | None = None, *,
                      glob: Glob | None = None, path: str | None = None,
                      match: dict | None = None, host: str = "") -> SshdConfig:
    """Parse sshd_config. `path_or_text` is a path (read with `read_file`, by default from
    this machine) or, when it holds a newline or `path=` is given, the text itself. `glob`
    expands Include patterns (default: this machine's filesystem when reading locally).
    `match` describes a connection (user, host, addr, laddr, lport, rdomain, groups) for
    which Match blocks are evaluated; blocks it cannot decide stay conditional."""
    local = read_file is None
    read = read_file or _local_read
    if glob is None and local:
        glob = globlib.glob
    diagnostics: list = []
    parser = _Parser(read, glob, diagnostics)
    if path is not None or "\n" in path_or_text:
        main_path, text = path or "sshd_config", path_or_text
    else:
        main_path, text = path_or_text, parser.text_of(path_or_text)
    config = SshdConfig(source=main_path, host=host, diagnostics=diagnostics)
    if text is None:
        config.files = [main_path]
        config.error = f"{main_path}: not readable"
        diagnostics.append(Diagnostic("error", "sshd-config", config.error,
                                      Location(main_path)))
        return config
    parser.parse(main_path, text, (), 0)
    config.files = parser.files
    _resolve(config, parser.entries, match)
    return config


def _resolve(config: SshdConfig, entries: list[_Entry], match: dict | None) -> None:
    overrides: dict[str, list[SshdOption]] = {}
    for entry in entries:
        option = entry.option
        if not entry.blocks:
            config.options.setdefault(option.keyword, []).append(option)
            continue
        verdict: bool | None = None
        if match is not None:
            verdict = True
            for block in entry.blocks:
                outcome = evaluate_match(block, match)
                if outcome is False:
                    verdict = False
                    break
                if outcome is None:
                    verdict = None
        if verdict is True:
            overrides.setdefault(option.keyword, []).append(option)
        elif verdict is None:
            config.conditional.append(option)
    for keyword, values in overrides.items():
        config.options[keyword] = values      # a matching block replaces the global value


# --- sshd -T ------------------------------------------------------------------------------

def parse_sshd_T(text: str, *, file_config: SshdConfig | None = None, host: str = "",
                 source: str = SSHD_T) -> SshdConfig:
    """The output of `sshd -T` (lower-case keyword, value; repeated keywords in order).
    With `file_config` (the parsed files), values point at the line that set them and the
    files' Match blocks come along as conditional options."""
    config = SshdConfig(source=source, host=host, effective=True)
    for line in text.splitlines():
        keyword, _, value = line.strip().partition(" ")
        if not keyword:
            continue
        keyword = _canonical(keyword)
        config.options.setdefault(keyword, []).append(
            SshdOption(keyword, value.strip(), None))
    if file_config is not None:
        config.files = list(file_config.files)
        config.conditional = list(file_config.conditional)
        complete = file_config.error is None and not any(
            d.code == "sshd-include" for d in file_config.diagnostics)
        for keyword, values in config.options.items():
            written = file_config.all(keyword)
            if not written:
                if complete:                   # every file read, none sets it
                    for option in values:
                        option.default = True
                continue
            if len(values) == 1 and _same(keyword, values[0].value, written[0].value):
                values[0].location = written[0].location
            else:                              # Port, HostKey…: pair equal values
                for option in values:
                    for source_option in written:
                        if _same(keyword, option.value, source_option.value):
                            option.location = source_option.location
                            break
    return config


def _same(keyword: str, effective: str, written: str) -> bool:
    """Whether a value sshd -T prints is the one written in the file."""
    a, b = effective.strip().lower(), written.strip().lower()
    a = VALUE_ALIASES.get((keyword, a), a)
    b = VALUE_ALIASES.get((keyword, b), b)
    if a == b:
        return True
    if keyword in ("ciphers", "macs", "kexalgorithms", "hostkeyalgorithms",
                   "pubkeyacceptedalgorithms", "casignaturealgorithms"):
        return True                            # sshd expands +/-/^ lists: one line set it
    if keyword == "listenaddress":
        return a.split(":")[0].strip("[]") == b.split(":")[0].strip("[]") or a.startswith(b)
    return False


def parse_sshd_t_result(rc: int, stdout: str = "", stderr: str = "") -> SshdValidation | None:
    """`sshd -t`'s verdict; None when it could not be run (127: missing, or not collected)."""
    if rc == 127:
        return None
    message = "\n".join(line for line in (stderr or stdout).splitlines() if line.strip())
    return SshdValidation(ok=rc == 0, rc=rc, message=message[:2000])


# --- over a host transport ----------------------------------------------------------------

async def collect_sshd(transport, *, host: str = "", config_path: str = DEFAULT_CONFIG,
                       match: dict | None = None, sshd_T=None, sshd_t=None) -> SshdConfig:
    """sshd's effective configuration on the host behind `transport` (`run(argv)` and
    `read_file(path)`, see `labwarden.sources.live.transport`; an optional
    `async glob(pattern)` lists Include globs remotely): `sshd -T` for the values (pass
    `sshd_T`, a result with rc/stdout/stderr, when it was already run; `sshd_t` likewise),
    the files for their lines and Match blocks, `sshd -t` for the verdict. Falls back to the
    files (with OpenSSH's defaults) when `sshd -T` cannot run. Never raises."""
    diagnostics: list = []
    files: dict[str, str | None] = {}

    async def fetch(path: str) -> None:
        if path in files:
            return
        try:
            data = await transport.read_file(path)
        except Exception:  # noqa: BLE001 - a transport failure is "not readable"
            data = None
        files[path] = data.decode("utf-8", "replace") if isinstance(data, bytes) else data

    # Include targets are discovered while parsing: parse, fetch the files and listings it
    # asked for, parse again (at most one round per level of Include).
    lister = _transport_glob(transport)
    remote_glob = getattr(transport, "glob", None)
    listings: dict[str, list[str]] = {}
    file_config = None
    await fetch(config_path)
    for _ in range(MAX_INCLUDE_DEPTH + 1):
        missing: list[str] = []
        unlisted: list[str] = []

        def read(path: str, missing=missing):
            if path not in files:
                missing.append(path)
                return None
            return files[path]

        def glob(pattern: str, unlisted=unlisted) -> list[str]:
            if pattern not in listings:
                unlisted.append(pattern)
                return []
            return listings[pattern]

        use_glob = lister or (glob if callable(remote_glob) else None)
        file_config = parse_sshd_config(config_path, read_file=read, glob=use_glob,
                                        match=match, host=host)
        if not missing and not unlisted:
            break
        for pattern in unlisted:
            try:
                listings[pattern] = sorted(await remote_glob(pattern))
            except Exception:  # noqa: BLE001 - an unlistable directory has no files
                listings[pattern] = []
        for path in missing:
            await fetch(path)

    result_T = sshd_T if sshd_T is not None else await _run(transport, ["sshd", "-T"])
    result_t = sshd_t if sshd_t is not None else await _run(transport, ["sshd", "-t"])
    validation = parse_sshd_t_result(result_t.rc, result_t.stdout, result_t.stderr)

    if result_T.rc == 0 and result_T.stdout.strip():
        config = parse_sshd_T(result_T.stdout, file_config=file_config, host=host)
        config.diagnostics.extend(d for d in file_config.diagnostics if d.level != "error")
    else:
        config = file_config
        config.host = host
        reason = (result_T.stderr or result_T.stdout).strip().splitlines()
        why = reason[-1] if reason else f"exit status {result_T.rc}"
        if validation is None and result_T.rc not in (0, 127, 124) and " line " in why:
            # sshd -T parses the same files: a syntax complaint is sshd -t's verdict too.
            validation = SshdValidation(False, result_T.rc, why)
        config.diagnostics.append(Diagnostic(
            "gap", "sshd-T", f"sshd -T not available ({why}); judged from {config_path} "
            "with OpenSSH's defaults", config.location))
    config.validation = validation
    if validation is None:
        config.diagnostics.append(Diagnostic(
            "gap", "sshd-t", "sshd -t could not be run: configuration not validated",
            config.location))
    config.diagnostics = diagnostics + config.diagnostics
    return config


async def _run(transport, argv: list[str]):
    try:
        return await transport.run(argv)
    except Exception as exc:  # noqa: BLE001 - a refused or failed command is "not run"
        return _Result(127, "", f"{argv[0]}: {type(exc).__name__}")


@dataclass
class _Result:
    rc: int
    stdout: str
    stderr: str


def _transport_glob(transport) -> Glob | None:
    """Include globs for a local transport (this machine's filesystem under its root) or a
    snapshot (its saved files); other transports may offer `async glob(pattern)`."""
    name = getattr(transport, "name", "")
    if name == "local" and getattr(transport, "root", None) is not None:
        root = transport.root

        def local_glob(pattern: str) -> list[str]:
            base = os.path.join(root, pattern.lstrip("/"))
            return ["/" + os.path.relpath(p, root).lstrip("/") for p in globlib.glob(base)]
        return local_glob
    if name == "snapshot" and callable(getattr(transport, "list_files", None)):
        return transport.list_files      # a directory or a tarball: it knows its files
    return None


# --- facts from YAML (rule fixtures) --------------------------------------------------------

def yaml_items(path: str) -> list[tuple[int, dict]]:
    """The mappings of a YAML list with the line each starts on (for fixture markers)."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    items = yaml.safe_load(text) or []
    if node is None:
        return []
    return [(child.start_mark.line + 1, item) for child, item in zip(node.value, items)]


def facts_from_yaml(path: str) -> list[SshdConfig]:
    """SshdConfig facts from a YAML list (rule fixtures). Each item: `source` (default
    "sshd_config"), `effective` (default False), `options` ({keyword: value or [values]};
    a value written `value @ file:line` carries its location), `conditional` ([{keyword,
    value, condition}]), `validation` ({ok, rc, message})."""
    return [fact for _, fact in facts_with_lines(path)]


def facts_with_lines(path: str) -> list[tuple[int, SshdConfig]]:
    facts = []
    for line, item in yaml_items(path):
        source = item.get("source", "sshd_config")
        config = SshdConfig(source=source, host=item.get("host", ""),
                            effective=bool(item.get("effective", False)),
                            files=[source] if source != SSHD_T else [])
        for keyword, values in (item.get("options") or {}).items():
            for value in values if isinstance(values, list) else [values]:
                config.options.setdefault(_canonical(keyword), []).append(
                    _option(_canonical(keyword), value, source))
        for cond in item.get("conditional") or []:
            option = _option(_canonical(cond["keyword"]), cond["value"], source)
            option.condition = cond.get("condition", "Match All")
            config.conditional.append(option)
        if item.get("validation") is not None:
            config.validation = SshdValidation(**item["validation"])
        facts.append((line, config))
    return facts


def _option(keyword: str, value, source: str) -> SshdOption:
    text = "yes" if value is True else "no" if value is False else str(value)
    location = None
    if " @ " in text:
        text, _, where = text.partition(" @ ")
        file, _, line = where.rpartition(":")
        location = Location(file or source, int(line) if line.isdigit() else 0)
    return SshdOption(keyword, text.strip(), location)
