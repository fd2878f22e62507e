"""Redaction: every piece of evidence that may hold a secret goes through here.

A finding shows enough to find the value (its name, its length, for long values its first
two characters) and never enough to use it. Short values get no prefix: two characters of
a five-character default password is most of it.

Rules redact what they know to be secret (`redact_assignment`, `redact_url`), and the engine
passes every message, evidence, fix and resource of every finding through one `redactor`
before any report, the history or a record sees it: `scrub` finds credentials by their shape
in any text (URL passwords, `Authorization:` headers, `-u user:pass`, `password=…`, private
keys, password hashes, tokens with a known prefix), and the redactor also replaces every
value the audited project assigns to a secret-named variable, wherever a rule quotes it.
Redaction is a property of the evidence, not the care of each rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):"
                              r"(?P<password>[^@/\s]+)@")

# Known values shorter than this are not searched for in other text: `admin` or `12345`
# would redact every image name, port and path that happens to contain them.
MIN_KNOWN_LENGTH = 6


def redact(value: str | None) -> str:
    if value is None:
        return "(unset)"
    length = len(value)
    if length == 0:
        return "(empty)"
    if length < 8:
        return f"…({length} chars)"
    return f"{value[:2]}…({length} chars)"


def redact_assignment(name: str, value: str | None) -> str:
    return f"{name}={redact(value)}"


def redact_url(text: str) -> str:
    """`postgres://app:s3cret@db/app` → `postgres://app:…(6 chars)@db/app`."""
    return _URL_CREDENTIALS.sub(
        lambda m: f"{m.group('scheme')}{m.group('user')}:{redact(m.group('password'))}@", text)


def url_password(text: str) -> str | None:
    match = _URL_CREDENTIALS.search(text)
    return match.group("password") if match else None


# --- credentials found in any text ---------------------------------------------------------
# Most texts hold no credential, and Python's regular expressions are slow to say so when a
# pattern may start anywhere. One scan for hints (a few literal words, on the lower-cased
# text) says which kinds of credential may be present; only those patterns run, each one
# starting with a literal the engine can search for. Credentials recognised by their shape
# go first: a URL's `user:password@` is redacted as a URL, not read as `user: value`.

# (Alternatives that start alike share a branch: the engine tries fewer of them at each place.)
_NAME_HINT = re.compile(r"p(?:ass|w|sk)|s(?:ecret|alt|ig)|token|key|auth|cred")
_NAME_WORDS = ("pass", "pw", "secret", "token", "key", "auth", "cred", "psk", "salt", "sig")
_TOKEN_HINT = re.compile(r"g(?:h[pousr]_|ithub_pat_|lpat-|lsa_)|xox|a(?:kia|sia)|sk-|npm_|hf_|eyj")
# A piece of each alternative of _TOKEN_HINT: looking for these with `in` rules out most texts
# several times faster than the pattern's search, which tries each position in turn.
_TOKEN_PARTS = ("gh", "hub_pat_", "gl", "xox", "akia", "asia", "sk-", "npm_", "hf_", "eyj")
# The ASCII characters, upper-case letters lower-cased: `str.translate` keeps any character
# past the table as it is, and a table indexed by code point is faster than a mapping that
# misses on every character but A-Z.
_ASCII_LOWER = "".join(map(chr, range(128))).lower()

_SHAPES = {
    # a PEM private key, whole or cut short (escaped newlines as in a .env value)
    "pem": re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:[A-Za-z0-9+/=:,\-\s]|\\n)*?"
                      r"(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|(?=[^A-Za-z0-9+/=:,\-\s\\])|\Z)"),
    # bcrypt, argon2, sha-crypt, md5-crypt, yescrypt, htpasswd apr1, pbkdf2
    "hash": re.compile(r"\$(?:2[abxy]?|apr1|argon2(?:id|i|d)|[1567]|y|gy|pbkdf2[\w-]*)\$"
                       r"[\w./$=,+-]{8,}"),
    # tokens whose prefix says what they are: GitHub, GitLab, Grafana, Slack, AWS, OpenAI,
    # npm, Hugging Face; JWTs
    "token": re.compile(r"(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}"
                        r"|glpat-[\w-]{20,}|glsa_\w{20,}|xox[abposr]-[\w-]{10,}"
                        r"|(?:AKIA|ASIA)[0-9A-Z]{16}|sk-[\w-]{20,}|npm_[A-Za-z0-9]{30,}"
                        r"|hf_[A-Za-z0-9]{30,}|eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,})"),
    # scheme://user:password@
    "url": re.compile(r"(?P<lead>://[^:/@\s]*:)(?P<secret>[^@/\s]+)(?=@)"),
    # curl -u user:password, --user=user:password
    "user": re.compile(r"(?P<lead>(?<![\w-])(?:-u|--user)(?:\s+|=)[\"']?[^\s:\"'$]+:)"
                       r"(?P<secret>[^\s\"']+)"),
    # SQL: CREATE USER … PASSWORD '…', IDENTIFIED BY '…'
    "sql": re.compile(r"(?P<lead>(?<![\w-])(?:PASSWORD|[Pp]assword|IDENTIFIED\s+BY"
                      r"|identified\s+by)\s+)(?P<secret>'[^'\n]*'|\"[^\"\n]*\")"),
}

# What may follow a name: `=value`, `: value`, `": "value"`, `: Bearer value`, or for a
# flag, ` value` and, in a Compose list, `", "value"`.
_AFTER_NAME = re.compile(
    r"""["']?(?:(?P<assign>\s*=\s*|:[ \t]*)(?P<scheme>(?:[Bb]earer|[Bb]asic|[Tt]oken|[Bb]ot"""
    r"""|[Dd]igest|[Aa]pi[Kk]ey)\s+)?|(?P<space>\s*,\s*|\s+))"""
    r"""(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"'`&,;]+)""")
_AFTER_NAME_STARTS = frozenset("\"'=:, \t\r\n")
_NAME_RUN = re.compile(r"[A-Za-z0-9_.-]*")
_LONGEST_NAME = 128

# `${VAR}`, `$VAR`, `$(cat file)`, and Compose's escaped `$$VAR`, `$$(cat file)`
_REFERENCE = re.compile(r"\$+[{(A-Za-z_]|.*\$[{(]", re.S)
_HEADERS = frozenset({"authorization", "proxy-authorization"})
# `--password-stdin`, `--ask-password`, `--no-password` take no secret after them.
_NOT_A_SECRET_FLAG = re.compile(r"stdin|prompt|ask|^no-")
# URL parameters that hold a credential although their name is not a secret's.
_QUERY_NAMES = frozenset({"sig", "signature", "auth", "key", "access_token", "apikey"})


def _is_secret_name(name: str, query: bool = False) -> bool:
    """Does `name` (a variable, flag, header or, with `query`, a URL parameter) hold a
    secret?"""
    from labwarden.knowledge.secrets import is_secret_name  # only when a name looks like one

    lowered = name.lower()
    return lowered in _HEADERS or (query and lowered in _QUERY_NAMES) or \
        is_secret_name(name) or is_secret_name(lowered.replace("-", "_"))


def _hidden(value: str) -> bool:
    """A value that is no secret to hide: already redacted, a reference to a variable, a
    path to a secret file, a toggle or a template's placeholder."""
    from labwarden.knowledge.secrets import is_password_hash, is_setting_value

    if not value or "…(" in value or value in ("(unset)", "(empty)"):
        return True
    if is_password_hash(value):
        return False
    if _REFERENCE.match(value):
        return True
    return is_setting_value(value) or (value[:1] == "<" and value[-1:] == ">")


def _unquoted(match: re.Match, group: str) -> tuple[int, int]:
    """Where a matched value is, without its quotes."""
    start, end = match.span(group)
    if end - start >= 2 and match.string[start] == match.string[end - 1] and \
            match.string[start] in "\"'":
        return start + 1, end - 1
    return start, end


def _shape_spans(kind: str, text: str):
    """(start, end) of each credential of one shape in `text`; for a URL, `-u` and SQL, only
    the password (what comes before it is kept)."""
    pattern = _SHAPES[kind]
    for match in pattern.finditer(text):
        if kind in ("pem", "hash", "token"):
            yield match.span()
            continue
        start, end = _unquoted(match, "secret")
        secret = text[start:end]
        if _hidden(secret) or (kind == "user" and secret.isdigit()):  # `-u 1000:1000`: uid:gid
            continue
        yield start, end


def _run_end(text: str, pos: int) -> int:
    """Where the run of name characters from `pos` ends (the pattern matches even none)."""
    found = _NAME_RUN.match(text, pos)
    return found.end() if found else pos


def _named_spans(text: str, lowered: str):
    """(start, end) of each value given to a secret-named variable, flag, header or URL
    parameter in `text`: `DB_PASSWORD=…`, `password: …`, `--token …`, `X-Api-Key: …`,
    `Authorization: Bearer …`, `?api_key=…`."""
    done = 0
    for hint in _NAME_HINT.finditer(lowered):
        start, end = hint.start(), hint.end()
        if start < done:
            continue
        end = _run_end(text, end)
        done = end
        if text[end:end + 1] not in _AFTER_NAME_STARTS:    # most hits: a word in prose
            continue
        start -= _run_end(text[max(0, start - _LONGEST_NAME):start][::-1], 0)
        name = text[start:end]
        bare = name.lstrip("-")
        before = text[start - 1] if start else ""
        # `/etc/passwd:ro` is a path, `$DB_PASSWORD` a reference, `a.b-password` the end of
        # another name; a name starts with a letter or `_`
        if before in ("/", "$") or not bare or not (bare[0].isalpha() or bare[0] == "_"):
            continue
        after = _AFTER_NAME.match(text, end)
        if after is None or (after.group("space") is not None and bare == name):
            continue                      # only a flag takes its value after a space
        if after.group("space") is not None and after.group("value")[0] in "-`":
            continue
        if not _is_secret_name(bare, before in ("?", "&")) or \
                (bare != name and _NOT_A_SECRET_FLAG.search(bare.lower())):
            continue
        value_start, value_end = _unquoted(after, "value")
        if not _hidden(text[value_start:value_end]):
            done = after.end()
            yield value_start, value_end


def _kinds(lowered: str) -> list[str]:
    """Which kinds of credential `lowered` may hold, by the words each one needs."""
    kinds = []
    if "private key" in lowered:
        kinds.append("pem")
    if "$" in lowered:
        kinds.append("hash")
    for part in _TOKEN_PARTS:
        if part in lowered:
            if _TOKEN_HINT.search(lowered) is not None:
                kinds.append("token")
            break
    if "://" in lowered:
        kinds.append("url")
    if "-u" in lowered:
        kinds.append("user")
    if "password" in lowered or "identified" in lowered:
        kinds.append("sql")
    for word in _NAME_WORDS:
        if word in lowered:
            kinds.append("name")
            break
    return kinds


def _lower(text: str) -> str:
    """Lower-cased, at the same positions (`str.lower` may lengthen non-ASCII text)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _redacted(text: str, spans) -> str:
    parts, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        found = text[start:end]
        if found.startswith("-----BEGIN"):
            shown = f"-----BEGIN PRIVATE KEY-----…({len(found)} chars)"
        elif found.startswith("$") and _SHAPES["hash"].fullmatch(found):
            shown = f"{found[:found.index('$', 1) + 1]}…({len(found)} chars)"
        else:
            shown = redact(found)
        parts.append(text[last:start])
        parts.append(shown)
        last = end
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


@lru_cache(maxsize=8192)   # rules write the same message and fix for many services
def scrub(text: str) -> str:
    """`text` with every credential it holds redacted: recognised by its shape (URL
    passwords, `-u user:pass`, private keys, password hashes, tokens with a known prefix) or
    by its name (`password=…`, `--token …`, `Authorization: Bearer …`, `?api_key=…`)."""
    if not text:
        return text
    lowered = _lower(text)
    kinds = _kinds(lowered)
    for kind in kinds:
        if kind != "name":
            shaped = _redacted(text, _shape_spans(kind, text))
            if shaped != text:
                text, lowered = shaped, _lower(shaped)
    if "name" in kinds:
        text = _redacted(text, _named_spans(text, lowered))
    return text


def redactor(values=()) -> Callable[[str], str]:
    """A function that redacts any text: the credentials `scrub` recognises, and the secret
    values the audited input assigns, wherever a rule quotes them (a container name or a
    command line built from `${DB_PASSWORD}`). `scrub` itself when no value is worth
    looking for, as for most projects."""
    # Longest first: a value that contains another is replaced whole.
    known = tuple(sorted({v for v in values if _worth_searching(v)}, key=len, reverse=True))
    return _KnownValues(known) if known else scrub


class _KnownValues:
    __slots__ = ("values", "by_rarest", "done")

    def __init__(self, values: tuple[str, ...]):
        self.values = values
        # A value is in a text only if its rarest character is: one test for each such
        # character rules out most values at once (over a hundred for the rules over the
        # whole tree, which may quote any project's, and most texts quote none).
        groups: dict[str, list[str]] = {}
        for value in values:
            groups.setdefault(min(value, key=_commonness), []).append(value)
        self.by_rarest = tuple((char, tuple(group)) for char, group in groups.items())
        # Each text searched once: rules write the same message, resource or fix for several
        # services, and a search is one pass over the text per value.
        self.done: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        found = self.done.get(text)
        if found is None:
            found = self.done[text] = self._redacted(text)
        return found

    def _redacted(self, text: str) -> str:
        text = scrub(text)
        if self._quotes_any(text):
            for value in self.values:      # longest first, in the text as it is redacted
                if value in text:
                    text = text.replace(value, redact(value))
        return text

    def _quotes_any(self, text: str) -> bool:
        for char, values in self.by_rarest:
            if char in text:
                for value in values:
                    if value in text:
                        return True
        return False


# Characters by how often the texts of findings hold them, most common first: spaces, lower-case
# letters and the punctuation of names, paths, ports and URLs, digits, then upper-case letters;
# any other (`!`, `%`, `{`, non-ASCII…) is rarer still. Only a matter of speed: a value's
# rarest character by this order is the one to look for first.
_COMMON_FIRST = " etaoinsrlcdhu.-/:_pmgfybwk0123456789vxjqz`'\"()@,=ETAOINSRLCDHUPMGFYBWKVXJQZ"
_COMMONNESS = {char: len(_COMMON_FIRST) - rank for rank, char in enumerate(_COMMON_FIRST)}


def _commonness(char: str) -> int:
    return _COMMONNESS.get(char, 0)


# One lower-case word or one number, shorter than a passphrase: `paperless`, `umbrel`.
_WORD = re.compile(r"[a-z]{1,15}|[0-9]{1,15}")


def _worth_searching(value) -> bool:
    """Is a known secret value worth looking for in other text? Not a word: `postgres`,
    `paperless` or `nextcloud` as a password is guessed first anyway (the secrets rules say
    so), and they are also the image, path and user names every report shows; replacing
    them everywhere would garble the reports without hiding anything."""
    if not isinstance(value, str) or len(value.strip()) < MIN_KNOWN_LENGTH or _hidden(value):
        return False
    return _WORD.fullmatch(value) is None


def secret_values(text: str) -> list[str]:
    """The values `scrub` redacts in `text` after a name or in a URL, `-u` or SQL password,
    to find them again where nothing marks them (a Compose file's `REDIS_PASSWORD: x` and
    its healthcheck's `redis-cli -a x`)."""
    lowered = _lower(text)
    kinds = _kinds(lowered)
    spans = [span for kind in ("url", "user", "sql") if kind in kinds
             for span in _shape_spans(kind, text)]
    if "name" in kinds:
        spans.extend(_named_spans(text, lowered))
    return [text[start:end] for start, end in spans]
