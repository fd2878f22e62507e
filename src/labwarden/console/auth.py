"""Who may use the console: users with scrypt password hashes, or one shared token; sessions
held in memory behind a random cookie; a CSRF token per session.

Users live in `console-users` in the lab's state folder (beside the history database), one
`name:scrypt$n$r$p$salt$hash` line each, mode 0600, written by `labwarden serve --add-user`.
The token comes from the environment (`LABWARDEN_CONSOLE_TOKEN`) or a file
(`--token-file`), never from the command line, where `ps` shows it.

With neither, the console is open to whoever reaches it, which `serve` allows on loopback
only. An open console still hands out sessions, so the CSRF check is the same either way:
another site in the same browser cannot post to it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time

USERS_NAME = "console-users"
TOKEN_ENV = "LABWARDEN_CONSOLE_TOKEN"
SESSION_COOKIE = "labwarden_session"
SESSION_TTL_S = 12 * 3600
# Failed logins per name before it is refused for LOCKOUT_S (scrypt's cost slows each guess;
# this bounds how many a listener on the network gets).
MAX_FAILURES, LOCKOUT_S = 10, 15 * 60
# scrypt's cost: 2^15 blocks of 8 (32 MiB), OWASP's minimum for scrypt.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class AuthError(Exception):
    """A users file or token that cannot be used; the message says which and why."""


def read_small(path: str, limit: int = 1 << 20) -> str | None:
    """A small text file of the console's (users, token, audit log) through the one reader
    (`sources._read`: regular files only, bounded); None when it does not exist."""
    from labwarden.sources._read import read_regular

    try:
        return read_regular(path, limit).decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuthError(f"{path}: cannot read it ({exc})") from None


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                            p=SCRYPT_P, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt),
                                  n=int(n), r=int(r), p=int(p), maxmem=64 * 1024 * 1024,
                                  dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


def users_path(state_dir: str) -> str:
    return os.path.join(state_dir, USERS_NAME)


def load_users(state_dir: str) -> dict[str, str]:
    """name → stored hash; {} when there is no users file. A malformed line is an error with
    its line number (a user silently missing would lock them out without a word)."""
    path = users_path(state_dir)
    text = read_small(path)
    if text is None:
        return {}
    users = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, stored = line.partition(":")
        if not sep or not NAME.match(name) or not stored.startswith("scrypt$"):
            raise AuthError(f"{path}:{number}: not a `name:scrypt$…` line")
        users[name] = stored
    return users


def add_user(state_dir: str, name: str, password: str) -> str:
    """Add or replace `name` in the users file (under its lock, atomically, mode 0600)."""
    from labwarden import fsio

    check_user_name(name)
    if len(password) < 12:
        raise AuthError("the password needs at least 12 characters")
    os.makedirs(state_dir, exist_ok=True)
    path = fsio.child(state_dir, USERS_NAME)
    line = f"{name}:{hash_password(password)}"

    def edit(current: str | None) -> str:
        kept = [x for x in (current or "").splitlines() if x.partition(":")[0] != name]
        return "\n".join([*kept, line]) + "\n"

    if not os.path.exists(path):          # created private: it holds password hashes
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    fsio.update(path, edit)
    return path


def check_user_name(name: str) -> None:
    if not NAME.match(name):
        raise AuthError(f"user name {name!r}: letters, digits, `.`, `_`, `@`, `-` (at most 64, "
                        "not starting with a sign)")


def load_token(token_file: str | None) -> str | None:
    if token_file:
        text = read_small(token_file)
        if text is None:
            raise AuthError(f"--token-file {token_file}: no such file")
        token = text.strip()
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if token and len(token) < 16:
        raise AuthError("the console token needs at least 16 characters")
    return token or None


class Auth:
    """What the running console checks: users, token, and its sessions."""

    def __init__(self, users: dict[str, str], token: str | None):
        self.users = users
        self.token = token
        self._sessions: dict[str, dict] = {}
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @property
    def required(self) -> bool:
        return bool(self.users or self.token)

    def login(self, name: str, secret: str) -> str | None:
        """The user name to put in the session, or None."""
        name = name.strip()
        if not NAME.match(name) or self.locked_out(name):
            return None
        user = self._check(name, secret)
        if user is None:
            with self._lock:
                self._failures.setdefault(name, []).append(time.time())
        return user

    def locked_out(self, name: str) -> bool:
        now = time.time()
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if now - t < LOCKOUT_S]
            self._failures[name] = recent
            return len(recent) >= MAX_FAILURES

    def _check(self, name: str, secret: str) -> str | None:
        stored = self.users.get(name)
        if stored is not None:
            return name if check_password(secret, stored) else None
        if self.token and hmac.compare_digest(secret.encode(), self.token.encode()):
            return f"{name} (token)"
        return None

    def new_session(self, user: str | None) -> tuple[str, dict]:
        sid = secrets.token_urlsafe(32)
        session = {"user": user, "csrf": secrets.token_urlsafe(32), "at": time.time()}
        with self._lock:
            self._expire()
            self._sessions[sid] = session
        return sid, session

    def session(self, sid: str | None) -> dict | None:
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is None or time.time() - session["at"] > SESSION_TTL_S:
                self._sessions.pop(sid, None)
                return None
            return session

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    def _expire(self) -> None:
        now = time.time()
        for sid in [s for s, v in self._sessions.items() if now - v["at"] > SESSION_TTL_S]:
            del self._sessions[sid]


def csrf_ok(session: dict | None, sent: str | None) -> bool:
    if session is None or not sent:
        return False
    return hmac.compare_digest(session["csrf"], sent)
