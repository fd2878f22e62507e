"""SSH rules (checklist 1.4): the remote view of a server (`SshServer`: what any client sees
over the network) and the daemon's configuration on the host (`SshdConfig`: sshd -T or the
files).

Rules on the remote view never claim what only the host can tell: `PermitRootLogin`,
`PermitEmptyPasswords`, `AllowUsers`, `MaxAuthTries`, `X11Forwarding`, the listening port
chosen in the config and `sshd -t` are judged from `SshdConfig` only. Algorithm and
version rules follow ssh-audit's stance, made into severities (the tables are in
`knowledge.ssh`); a target gets one finding per kind of weakness, listing every algorithm.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from labwarden.model import Hit, Impact, Location, Severity
from labwarden.knowledge import ssh as data
from labwarden.rules.registry import prover, rule
from labwarden.sources.live.ssh_wire import SshServer, openssh_version
from labwarden.sources.sshd_config import SshdConfig, SshdOption

SSHD_RELOAD = Impact("service", (0, 1))          # edit sshd_config, `systemctl reload ssh`
HOST_KEY_IMPACT = Impact("service", (0, 5))      # new host keys: clients update known_hosts
UPGRADE = Impact("service", (2, 15))
MOZILLA = "Mozilla OpenSSH guidelines"
SSH_AUDIT = "ssh-audit hardening guides"
CIS = "CIS Distribution Independent Linux Benchmark 5.2"
SEVERITY_WORD = {s: s.name.lower() for s in Severity}


def _join(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _weak(names: list[str], judge) -> list[tuple[str, Severity, str]]:
    found = []
    for name in names:
        verdict = judge(name)
        if verdict:
            found.append((name, verdict[0], verdict[1]))
    return found


_DROPBEAR_FIX = ("dropbear has no setting for its algorithms: they are chosen when it is "
                 "built (`localoptions.h`). Install a build without them, or OpenSSH in its "
                 "place (OpenWrt: `opkg install openssh-server`, then disable dropbear)")


def _fix_for(server: SshServer, sshd_fix: str) -> str:
    """The fix for this server's software: sshd_config advice means nothing to dropbear."""
    return _DROPBEAR_FIX if server.product.lower() == "dropbear" else sshd_fix


def _algorithm_hit(server: SshServer, kind: str, weak, keyword: str) -> Iterator[Hit]:
    if not weak:
        return
    worst = max(sev for _, sev, _ in weak)
    listed = [f"{name} ({why}; {SEVERITY_WORD[sev]})" for name, sev, why in
              sorted(weak, key=lambda w: -w[1])]
    names = [name for name, _, _ in weak]
    yield Hit(f"weak {kind} offered: {_join(listed, 8)}", server.location,
              resource=f"{keyword}", evidence=f"{keyword}: {','.join(names)}",
              severity=worst,
              fix=_fix_for(server, f"remove them: `{_KEYWORD[keyword]} -{','.join(names)}` "
                                   "in sshd_config (OpenSSH 7.5+), then `systemctl reload ssh`"))


_KEYWORD = {"kex": "KexAlgorithms", "ciphers": "Ciphers", "macs": "MACs",
            "hostkeyalgorithms": "HostKeyAlgorithms"}


# --- remote: authentication --------------------------------------------------------------

@rule("SSH001", "ssh-password-auth-offered", Severity.HIGH,
      title="SSH server offers password authentication", on=SshServer,
      checklist=["1.4.1", "1.4.2"], refs=[MOZILLA, CIS + ".12", "CWE-307"],
      impact=SSHD_RELOAD)
def password_auth_offered(server: SshServer, settings):
    """Reports SSH servers that offer the `password` method to a client without credentials.

    The probe completes a key exchange and sends the `none` request every OpenSSH client
    sends first; the server answers with the methods it accepts for that user (the target's
    user, else `root`). No password is ever sent.

    Why it matters:
    A server that takes passwords can be brute-forced and credential-stuffed from anywhere
    that reaches the port, and a password phished or reused elsewhere opens it. Keys cannot
    be guessed over the network.

    Example:
    ```
    $ ssh -o PreferredAuthentications=none root@host
    root@host: Permission denied (publickey,password,keyboard-interactive).
    ```

    Fix:
    Install your public key (`ssh-copy-id user@host`), check that key login works, then set
    `PasswordAuthentication no` in /etc/ssh/sshd_config (and in any file under
    /etc/ssh/sshd_config.d/, which is read first and wins: cloud images set it there) and
    run `systemctl reload ssh`.
    """
    if server.auth_methods and "password" in server.auth_methods:
        yield Hit(f"password authentication offered to user {server.auth_user!r}: open to "
                  "brute force and credential stuffing", server.location,
                  resource="auth:password",
                  evidence=f"methods: {','.join(server.auth_methods)}")


@rule("SSH002", "ssh-keyboard-interactive-offered", Severity.MEDIUM,
      title="SSH server offers keyboard-interactive authentication", on=SshServer,
      checklist=["1.4.1", "1.4.2"], refs=[MOZILLA, "CWE-307"], impact=SSHD_RELOAD)
def keyboard_interactive_offered(server: SshServer, settings):
    """Reports SSH servers that offer `keyboard-interactive` as a first authentication step.

    Why it matters:
    On a Linux server keyboard-interactive is PAM, and PAM's default conversation asks for
    the account password: it is password authentication under another name, and
    `PasswordAuthentication no` does not turn it off. It is only safe when PAM asks for a
    one-time code, and then it should come after a key (`AuthenticationMethods
    publickey,keyboard-interactive`), when the server no longer offers it first.

    Example:
    ```
    $ ssh -o PreferredAuthentications=none root@host
    root@host: Permission denied (publickey,keyboard-interactive).
    ```

    Fix:
    Set `KbdInteractiveAuthentication no` (`ChallengeResponseAuthentication no` before
    OpenSSH 8.7), or make it a second factor with `AuthenticationMethods
    publickey,keyboard-interactive`; then `systemctl reload ssh`.
    """
    if server.auth_methods and "keyboard-interactive" in server.auth_methods:
        yield Hit(f"keyboard-interactive offered to user {server.auth_user!r} as a first "
                  "factor: with PAM this is a password prompt", server.location,
                  resource="auth:keyboard-interactive",
                  evidence=f"methods: {','.join(server.auth_methods)}")


@rule("SSH011", "ssh-login-without-credentials", Severity.CRITICAL,
      title="SSH server lets a client in without any credential", on=SshServer,
      checklist=["1.4.1", "1.4.2", "1.1.2"], refs=[CIS + ".11", "CWE-306"],
      impact=SSHD_RELOAD)
def login_without_credentials(server: SshServer, settings):
    """Reports SSH servers that accept the `none` request: the probe's user got a session
    without a password, key or prompt.

    The probe sends the `none` request every OpenSSH client sends first; servers answer it
    with the list of methods they accept. Accepting it means the account has no password
    and `PermitEmptyPasswords yes` (or an SSH server with authentication turned off). The
    probe disconnects at once and runs nothing.

    Why it matters:
    Anyone who reaches the port and knows the account name is logged in: no brute force,
    no stolen key, nothing to guess.

    Example:
    ```
    $ ssh -o PreferredAuthentications=none root@host
    root@host:~#
    ```

    Fix:
    Set `PermitEmptyPasswords no` in /etc/ssh/sshd_config (and under sshd_config.d/), run
    `systemctl reload ssh`, and give the account a password or lock it (`passwd -l user`);
    then check who else has an empty password: `awk -F: '$2 == ""' /etc/shadow`.
    """
    if server.auth_methods == ["none"]:
        yield Hit(f"user {server.auth_user!r} was let in without any credential",
                  server.location, resource="auth:none",
                  evidence="the server accepted the 'none' authentication request")


# --- remote: algorithms ------------------------------------------------------------------

@rule("SSH003", "ssh-weak-kex", Severity.MEDIUM, title="Weak SSH key exchange algorithms",
      on=SshServer, checklist=["9.2.2"], refs=[SSH_AUDIT, MOZILLA, "RFC 9142"],
      impact=SSHD_RELOAD)
def weak_kex(server: SshServer, settings):
    """Reports key exchange algorithms with a small modulus, SHA-1 or NIST curves, one
    finding listing them all; its severity is that of the worst (group1: high; SHA-1:
    medium; 2048-bit groups and NIST curves: low, as ssh-audit flags them).

    Why it matters:
    The key exchange protects every session key. A 1024-bit group can be broken by a
    well-funded attacker with precomputation (Logjam); SHA-1 exchange hashes invite
    collision attacks; a client that supports only these gets the weakest session the
    server allows.

    Example:
    ```
    KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1
    ```

    Fix:
    Offer only modern exchanges, e.g. (OpenSSH 9.x) `KexAlgorithms
    sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256`,
    then `systemctl reload ssh`.
    """
    yield from _algorithm_hit(server, "key exchange algorithms",
                              _weak(server.kex, lambda n: data.lookup(data.WEAK_KEX, n)),
                              "kex")


@rule("SSH004", "ssh-weak-cipher", Severity.HIGH, title="Weak SSH ciphers", on=SshServer,
      checklist=["9.2.2"], refs=[SSH_AUDIT, MOZILLA, "CVE-2008-5161", "CVE-2016-2183"],
      impact=SSHD_RELOAD)
def weak_cipher(server: SshServer, settings):
    """Reports ciphers with a 64-bit block (3DES, Blowfish, CAST), RC4, DES or no
    encryption (high), and CBC modes (low), one finding listing them all.

    Why it matters:
    64-bit block ciphers leak plaintext after a few gigabytes under one key (Sweet32), RC4's
    keystream is biased, and CBC in SSH allowed plaintext recovery (CVE-2008-5161) and,
    with EtM MACs, the Terrapin prefix truncation. A downgrade needs only a client, or an
    attacker in the middle, that prefers them.

    Example:
    ```
    Ciphers +3des-cbc,aes128-cbc
    ```

    Fix:
    `Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr`,
    then `systemctl reload ssh`.
    """  # noqa: E501 - the Ciphers line is copied as is: one line in sshd_config
    yield from _algorithm_hit(server, "ciphers", _weak(server.ciphers, data.weak_cipher),
                              "ciphers")


@rule("SSH005", "ssh-weak-mac", Severity.MEDIUM, title="Weak SSH MAC algorithms",
      on=SshServer, checklist=["9.2.2"], refs=[SSH_AUDIT, MOZILLA], impact=SSHD_RELOAD)
def weak_mac(server: SshServer, settings):
    """Reports MACs based on MD5 (medium), SHA-1, 64-bit tags, truncations or the
    encrypt-and-MAC (non-`-etm`) mode (low), one finding listing them all.

    Why it matters:
    The MAC is what stops an attacker in the middle from altering a session. MD5 and SHA-1
    are broken hash functions, short tags are easier to forge, and encrypt-and-MAC
    authenticates the plaintext, leaking information the encrypt-then-MAC variants do not.

    Example:
    ```
    MACs +hmac-md5,hmac-sha1,umac-64@openssh.com
    ```

    Fix:
    `MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com`,
    then `systemctl reload ssh`.
    """
    yield from _algorithm_hit(server, "MACs", _weak(server.macs, data.weak_mac), "macs")


@rule("SSH006", "ssh-weak-host-key", Severity.MEDIUM, title="Weak SSH host key",
      on=SshServer, checklist=["9.2.2"],
      refs=[SSH_AUDIT, "NIST SP 800-57 Part 1 Rev. 5", "CWE-326"], impact=HOST_KEY_IMPACT)
def weak_host_key(server: SshServer, settings):
    """Reports host keys that are DSA (high), RSA below 2048 bits (high) or below 3072 bits
    (medium), or ECDSA on a NIST curve (low), as the server presented them.

    Why it matters:
    The host key is how clients know they reach this server and not an impostor. DSA keys
    are 1024-bit with SHA-1 signatures and are gone from OpenSSH; RSA below 3072 bits is
    below the 128-bit strength NIST asks of keys used past 2030; ECDSA leaks the private key
    if the server's random numbers are ever weak.

    Example:
    ```
    HostKey /etc/ssh/ssh_host_rsa_key      # 2048-bit
    HostKey /etc/ssh/ssh_host_dsa_key
    ```

    Fix:
    Generate strong keys (`ssh-keygen -t ed25519 -f /etc/ssh/ssh_host_ed25519_key -N ''`,
    `ssh-keygen -t rsa -b 4096 -f /etc/ssh/ssh_host_rsa_key -N ''`), list only them with
    `HostKey`, reload sshd, and tell users the new fingerprints (their known_hosts entries
    change).
    """
    seen_dsa = False
    for key in server.host_keys:
        base = (key.key_type or key.algorithm).removesuffix("-cert-v01@openssh.com")
        what = f"{key.key_type or key.algorithm}{' certificate' if key.certificate else ''}"
        evidence = f"{key.algorithm} {key.bits or '?'}-bit {key.fingerprint}".strip()
        if base == "ssh-dss":
            seen_dsa = True
            yield Hit(f"DSA host key ({key.bits or 1024}-bit, SHA-1 signatures)",
                      server.location, resource=f"hostkey:{base}", evidence=evidence,
                      severity=Severity.HIGH)
        elif base == "ssh-rsa" and key.bits:
            if key.bits < 2048:
                yield Hit(f"{key.bits}-bit RSA host key ({what}): breakable", server.location,
                          resource=f"hostkey:{base}", evidence=evidence,
                          severity=Severity.HIGH)
            elif key.bits < 3072:
                yield Hit(f"{key.bits}-bit RSA host key ({what}): below 3072 bits (112-bit "
                          "strength)", server.location, resource=f"hostkey:{base}",
                          evidence=evidence, severity=Severity.MEDIUM)
        elif base.startswith("ecdsa-sha2-nistp"):
            yield Hit(f"ECDSA host key on a NIST curve ({base})", server.location,
                      resource=f"hostkey:{base}", evidence=evidence, severity=Severity.LOW,
                      fix="prefer an Ed25519 host key; drop the ECDSA `HostKey` line")
    if not seen_dsa and any(a.startswith("ssh-dss") for a in server.host_key_algorithms):
        yield Hit("DSA host key algorithm offered (1024-bit, SHA-1 signatures)",
                  server.location, resource="hostkey:ssh-dss",
                  evidence="host key algorithms: ssh-dss", severity=Severity.HIGH)


@rule("SSH007", "ssh-rsa-sha1-signatures", Severity.MEDIUM,
      title="SSH server signs with ssh-rsa (SHA-1)", on=SshServer, checklist=["9.2.2"],
      refs=["OpenSSH 8.8 release notes", SSH_AUDIT, "CWE-328"], impact=SSHD_RELOAD)
def rsa_sha1_signatures(server: SshServer, settings):
    """Reports servers that offer the `ssh-rsa` host key algorithm: RSA signatures over
    SHA-1, disabled by default since OpenSSH 8.8.

    Why it matters:
    SHA-1 chosen-prefix collisions cost well under $100k (SHAmbles, 2020). A client that
    accepts ssh-rsa lets an attacker in the middle pick the weakest signature the server
    still makes; rsa-sha2-256/512 sign the same RSA key with SHA-2.

    Example:
    ```
    HostKeyAlgorithms +ssh-rsa
    ```

    Fix:
    Remove `ssh-rsa` (and `ssh-rsa-cert-v01@openssh.com`) from `HostKeyAlgorithms`; clients
    from OpenSSH 7.2 on use rsa-sha2-256/512 with the same key.
    """
    offered = [a for a in server.host_key_algorithms
               if a in ("ssh-rsa", "ssh-rsa-cert-v01@openssh.com")]
    if offered:
        yield Hit(f"host key signatures with SHA-1 offered: {', '.join(offered)}",
                  server.location, resource="hostkeyalg:ssh-rsa",
                  evidence=f"host key algorithms: {','.join(server.host_key_algorithms)}",
                  fix=_fix_for(server, ""))


@rule("SSH008", "ssh-vulnerable-version", Severity.HIGH,
      title="OpenSSH version with known vulnerabilities", on=SshServer, checklist=["9.2.2"],
      refs=["https://www.openssh.com/security.html", "CVE-2024-6387"], impact=UPGRADE)
def vulnerable_version(server: SshServer, settings):
    """Reports OpenSSH releases with known pre-authentication vulnerabilities (regreSSHion
    CVE-2024-6387, CVE-2025-26466, CVE-2023-25136, user enumeration CVE-2018-15473 and
    CVE-2016-6210), from the version in the banner.

    Distributions patch without changing the upstream version, so the verdict depends on the
    build the banner names: a Debian or Ubuntu build at or past the fixed package revision
    is not reported; one before it is reported at the vulnerability's severity; a build the
    table does not know is reported as medium, "verify the patch level". A banner without
    any build (`DebianBanner no` hides it; an upstream build has none either) is no evidence
    either way: an INFO coverage note that fails no checklist item, unless the same target
    was read as a host, whose package manager's version of openssh-server (`dpkg-query`,
    `rpm -q`, Alpine's `apk list --installed`) then decides as the banner's build would.

    Why it matters:
    regreSSHion gives an unauthenticated attacker code execution as root on glibc systems;
    the others allow denial of service or account enumeration. A banner in the affected
    range is what mass scanners look for.

    Example:
    ```
    SSH-2.0-OpenSSH_9.6p1              (upstream build inside 8.5p1-9.7p1)
    ```

    Fix:
    Install the distribution's security updates (`apt-get update && apt-get install
    openssh-server`) and restart sshd; on an unpatched upstream build, upgrade to a fixed
    release (9.8p1 or later for CVE-2024-6387). If the build is patched but the banner does
    not show it, waive the finding with the package version as the reason.
    """
    version = openssh_version(server.software)
    if version is None:
        return
    build = data.distribution_build(server.comments)
    source = "build"
    package = data.package_build(server.package) if server.package else None
    if build is None and package is not None and openssh_version(
            f"OpenSSH_{package[2]}") == version:
        build, source = package[:2], "package"
    if build is None and not server.comments.strip() and any(
            data.affected(v, version) for v in data.VULNERABILITIES):
        known = f" (installed package: {server.package})" if server.package else ""
        yield Hit(f"{server.software}: the banner names no distribution build, so whether a "
                  f"backported fix is installed cannot be told from it{known}: not evidence "
                  f"of a vulnerable version; read the host (ssh://… --ssh-key, local://, "
                  f"snapshot:) for the package version", server.location,
                  resource="version", evidence=server.banner, severity=Severity.INFO,
                  checklist=())
        return
    certain, unsure = [], []
    for vuln in data.VULNERABILITIES:
        if not data.affected(vuln, version):
            continue
        fixed = data.fixed_revision(vuln, build[0], version) if build else None
        if fixed is not None:
            if data.dpkg_compare(build[1], fixed) >= 0:
                continue                                    # the distribution patched it
            certain.append((vuln, f"{build[0]} {source} {build[1]} predates the fix {fixed}"))
        else:
            unsure.append(vuln)
    if not certain and not unsure:
        return
    severity = max([v.severity for v, _ in certain]
                   + [min(v.severity, Severity.MEDIUM) for v in unsure])
    how = (f"the {build[0]} build {build[1]} may carry a backported fix" if build
           else "no distribution build in the banner")
    parts = [f"{v.cve} ({v.summary}; {why})" for v, why in certain]
    parts += [f"{v.cve} ({v.summary}; {how})" for v in unsure]
    tail = ": verify the patch level" if unsure else ""
    yield Hit(f"{server.software} is in the affected range of {_join(parts, 6)}{tail}",
              server.location, resource="version", evidence=server.banner,
              severity=severity)


@rule("SSH009", "ssh-terrapin", Severity.MEDIUM,
      title="SSH server open to the Terrapin attack (CVE-2023-48795)", on=SshServer,
      checklist=["9.2.2"], refs=["CVE-2023-48795", "https://terrapin-attack.com"],
      impact=UPGRADE)
def terrapin(server: SshServer, settings):
    """Reports servers that offer ChaCha20-Poly1305, or a CBC cipher with an EtM MAC,
    without the strict key exchange countermeasure (`kex-strict-s-v00@openssh.com`).

    Why it matters:
    Terrapin lets an attacker in the middle delete messages at the start of the encrypted
    session undetected, e.g. downgrade the keystroke-timing obfuscation or the extension
    negotiation. Strict KEX (OpenSSH 9.6, backported by distributions) closes it when both
    sides support it.

    Example:
    ```
    SSH-2.0-OpenSSH_9.3   (chacha20-poly1305@openssh.com, no kex-strict-s-v00@openssh.com)
    ```

    Fix:
    Update OpenSSH to a release or distribution build with strict KEX; until then remove
    `chacha20-poly1305@openssh.com` from `Ciphers` and the CBC ciphers (or the `-etm` MACs).
    """
    if "kex-strict-s-v00@openssh.com" in server.kex or not server.kex:
        return
    chacha = [c for c in server.ciphers if c == "chacha20-poly1305@openssh.com"]
    cbc = [c for c in server.ciphers if c.endswith("-cbc") or "-cbc@" in c]
    etm = [m for m in server.macs if "-etm@" in m]
    vulnerable = chacha + (cbc if etm else [])
    if vulnerable:
        yield Hit(f"no strict key exchange while offering {', '.join(vulnerable)}"
                  + (" with EtM MACs" if cbc and etm else ""), server.location,
                  resource="terrapin", evidence=f"kex: {','.join(server.kex)}")


@rule("SSH010", "ssh-protocol-1", Severity.HIGH, title="SSH protocol 1 offered",
      on=SshServer, checklist=["9.2.2"], refs=["CVE-2001-0361", "CWE-327"],
      impact=UPGRADE)
def protocol_1(server: SshServer, settings):
    """Reports servers whose banner announces SSH protocol 1 (`SSH-1.5-`, or `SSH-1.99-`:
    both versions).

    Why it matters:
    SSH-1 has unfixable design flaws (CRC-32 integrity, session key recovery, insertion
    attacks); OpenSSH removed it in 7.6. A server still speaking it is also a very old one.

    Example:
    ```
    SSH-1.99-OpenSSH_5.3
    ```

    Fix:
    Upgrade the SSH server; on an old OpenSSH set `Protocol 2` in sshd_config.
    """
    if server.protocol and server.protocol != "2.0":
        yield Hit(f"protocol {server.protocol} announced: SSH-1 is broken by design",
                  server.location, resource="protocol", evidence=server.banner)


# --- host configuration ------------------------------------------------------------------

def _where(config: SshdConfig, option: SshdOption | None) -> Location:
    return config.where(option)


def _scope(option: SshdOption | None) -> str:
    if option is None or option.default:
        return " (not set: OpenSSH's default)"
    if option.condition:
        return f" for connections matching `{option.condition}`"
    return ""


def _evidence(keyword: str, value: str, option: SshdOption | None) -> str:
    name = _NAMES.get(keyword, keyword)
    default = option is None or option.default
    return f"{name} {value} (default)" if default else f"{name} {value}"


_NAMES = {
    "permitrootlogin": "PermitRootLogin", "passwordauthentication": "PasswordAuthentication",
    "kbdinteractiveauthentication": "KbdInteractiveAuthentication", "usepam": "UsePAM",
    "permitemptypasswords": "PermitEmptyPasswords", "maxauthtries": "MaxAuthTries",
    "x11forwarding": "X11Forwarding", "port": "Port", "allowusers": "AllowUsers",
    "allowgroups": "AllowGroups", "authenticationmethods": "AuthenticationMethods",
}


def _options(config: SshdConfig, keyword: str) -> Iterator[tuple[str, SshdOption | None]]:
    """The effective value (with its option, None for a default), then each value set in a
    Match block that was not evaluated."""
    value, option = config.value(keyword)
    yield value.strip().lower(), option
    for conditional in config.conditional_values(keyword):
        yield conditional.lowered, conditional


def _alone(config: SshdConfig, method: str, condition: str | None = None) -> bool:
    """Whether `method` can log a user in by itself under AuthenticationMethods (a list
    that also asks for a key makes it a second factor)."""
    candidates = [config.value("authenticationmethods")]
    if condition:
        candidates += [(o.value, o) for o in config.conditional_values("authenticationmethods")
                       if o.condition == condition]
    value = candidates[-1][0].strip()
    if not value or value.lower() == "any":
        return True
    for chain in value.split():
        steps = [step.split(":")[0] for step in chain.split(",")]
        if method in steps and not {"publickey", "hostbased", "gssapi-with-mic"} & set(steps):
            return True
    return False


@rule("SSH020", "sshd-permit-root-login", Severity.HIGH, title="sshd permits root login",
      on=SshdConfig, checklist=["1.4.4", "1.1.4"], refs=[CIS + ".10", MOZILLA, "CWE-250"],
      impact=SSHD_RELOAD)
def permit_root_login(config: SshdConfig, settings):
    """Reports `PermitRootLogin` other than `no`: `yes` is high; `prohibit-password` (the
    OpenSSH default when unset) medium; `forced-commands-only` low.

    Why it matters:
    `root` is the one account name every brute-force campaign knows, and a root session
    leaves no trace of which admin it was. With `prohibit-password` a stolen admin key is
    root on the host directly, without the sudo step that asks for a password and logs it.

    Example:
    ```
    PermitRootLogin yes
    ```

    Fix:
    Log in as a named user with sudo, then set `PermitRootLogin no` and run
    `systemctl reload ssh` (keep the current session open until a new login works).
    """
    levels = {"yes": Severity.HIGH, "prohibit-password": Severity.MEDIUM,
              "without-password": Severity.MEDIUM, "forced-commands-only": Severity.LOW}
    for value, option in _options(config, "permitrootlogin"):
        severity = levels.get(value)
        if severity is None:
            continue
        what = {"yes": "root can log in with a password or a key",
                "forced-commands-only": "root can log in with keys restricted to a command"
                }.get(value, "root can log in with a key")
        yield Hit(f"PermitRootLogin {value}: {what}{_scope(option)}", _where(config, option),
                  resource=f"permitrootlogin:{option.condition if option else ''}",
                  evidence=_evidence("permitrootlogin", value, option), severity=severity)


@rule("SSH021", "sshd-password-authentication", Severity.HIGH,
      title="sshd accepts passwords", on=SshdConfig, checklist=["1.4.1", "1.4.2"],
      refs=[CIS + ".12", MOZILLA, "CWE-307"], impact=SSHD_RELOAD)
def password_authentication(config: SshdConfig, settings):
    """Reports `PasswordAuthentication yes` (the OpenSSH default when unset), globally or in
    a `Match` block, unless `AuthenticationMethods` makes the password a second factor
    after a key.

    Why it matters:
    Passwords can be guessed, stuffed from other breaches and phished; keys cannot be
    guessed over the network. On cloud images a file in /etc/ssh/sshd_config.d/ often
    turns it back on, and that file, read first, wins over the main file.

    Example:
    ```
    Include /etc/ssh/sshd_config.d/*.conf    # 50-cloud-init.conf: PasswordAuthentication yes
    PasswordAuthentication no                # too late: the first value wins
    ```

    Fix:
    Make sure your key works, then set `PasswordAuthentication no` in the file that sets it
    (the line shown) and run `systemctl reload ssh`.
    """
    for value, option in _options(config, "passwordauthentication"):
        if value != "yes" or not _alone(config, "password",
                                        option.condition if option else None):
            continue
        yield Hit(f"password authentication enabled{_scope(option)}",
                  _where(config, option),
                  resource=f"passwordauthentication:{option.condition if option else ''}",
                  evidence=_evidence("passwordauthentication", value, option))


@rule("SSH022", "sshd-kbd-interactive-pam", Severity.HIGH,
      title="sshd asks for passwords through PAM keyboard-interactive", on=SshdConfig,
      checklist=["1.4.1", "1.4.2"], refs=[MOZILLA, "CWE-307"], impact=SSHD_RELOAD)
def kbd_interactive_pam(config: SshdConfig, settings):
    """Reports `KbdInteractiveAuthentication yes` (`ChallengeResponseAuthentication` before
    OpenSSH 8.7; yes is the default when unset) together with `UsePAM yes`, unless
    `AuthenticationMethods` makes it a second factor after a key.

    Why it matters:
    With PAM, keyboard-interactive runs PAM's auth stack, which on a stock system asks for
    the Unix password: passwords stay accepted even with `PasswordAuthentication no`.

    Example:
    ```
    UsePAM yes
    KbdInteractiveAuthentication yes
    PasswordAuthentication no         # passwords still work
    ```

    Fix:
    Set `KbdInteractiveAuthentication no`, or, for a one-time code, `AuthenticationMethods
    publickey,keyboard-interactive`; then `systemctl reload ssh`.
    """
    if config.setting("usepam") != "yes":
        return
    for value, option in _options(config, "kbdinteractiveauthentication"):
        if value != "yes" or not _alone(config, "keyboard-interactive",
                                        option.condition if option else None):
            continue
        yield Hit(f"keyboard-interactive authentication with UsePAM yes: PAM asks for the "
                  f"password{_scope(option)}", _where(config, option),
                  resource=f"kbdinteractive:{option.condition if option else ''}",
                  evidence=_evidence("kbdinteractiveauthentication", value, option)
                  + "; UsePAM yes")


@rule("SSH023", "sshd-permit-empty-passwords", Severity.CRITICAL,
      title="sshd permits empty passwords", on=SshdConfig, checklist=["1.4.1", "1.1.2"],
      refs=[CIS + ".11", "CWE-258"], impact=SSHD_RELOAD)
def permit_empty_passwords(config: SshdConfig, settings):
    """Reports `PermitEmptyPasswords yes`: critical while password authentication is on,
    medium while it is off (it becomes critical the day someone turns passwords back on).

    Why it matters:
    Any account without a password (a service account, a freshly created user) can then be
    logged into over the network by name alone.

    Example:
    ```
    PasswordAuthentication yes
    PermitEmptyPasswords yes
    ```

    Fix:
    Set `PermitEmptyPasswords no` (the default: deleting the line is enough) and run
    `systemctl reload ssh`; lock password-less accounts with `passwd -l`.
    """
    passwords_on = config.setting("passwordauthentication") == "yes"
    for value, option in _options(config, "permitemptypasswords"):
        if value != "yes":
            continue
        yield Hit(f"accounts without a password can log in{_scope(option)}"
                  + ("" if passwords_on else " once password authentication is enabled"),
                  _where(config, option),
                  resource=f"permitemptypasswords:{option.condition if option else ''}",
                  evidence=_evidence("permitemptypasswords", value, option),
                  severity=None if passwords_on else Severity.MEDIUM)


@rule("SSH024", "sshd-no-user-allow-list", Severity.MEDIUM,
      title="sshd has no AllowUsers or AllowGroups", on=SshdConfig, checklist=["1.4.6"],
      refs=[CIS + ".4", "CWE-284"], impact=SSHD_RELOAD)
def no_allow_list(config: SshdConfig, settings):
    """Reports configurations without `AllowUsers` or `AllowGroups`: every account with a
    shell and a credential may log in over SSH.

    Why it matters:
    Service accounts, forgotten test users and accounts created by packages become SSH
    entry points. An allow-list limits logins to the admins who need them.

    Example:
    ```
    # no AllowUsers, no AllowGroups
    PermitRootLogin no
    ```

    Fix:
    Add `AllowUsers alice bob` (or `AllowGroups ssh-users` and add admins to that group),
    test a login in a second session, then `systemctl reload ssh`.
    """
    if config.all("allowusers") or config.all("allowgroups"):
        return
    yield Hit("no AllowUsers or AllowGroups: every account may log in over SSH",
              config.location, resource="allowusers",
              evidence="AllowUsers/AllowGroups not set")


@rule("SSH025", "sshd-max-auth-tries", Severity.LOW,
      title="sshd allows many authentication attempts per connection", on=SshdConfig,
      checklist=["9.2.2"], refs=[CIS + ".7", "CWE-307"], impact=SSHD_RELOAD)
def max_auth_tries(config: SshdConfig, settings):
    """Reports `MaxAuthTries` above 4 (the default, when unset, is 6).

    Why it matters:
    Each connection may try that many passwords or keys; a high limit makes guessing cheaper
    per connection and hides attempts from tools that count connections (fail2ban).

    Example:
    ```
    MaxAuthTries 10
    ```

    Fix:
    Set `MaxAuthTries 3` (users with many keys in their agent: `IdentitiesOnly yes` on the
    client) and run `systemctl reload ssh`.
    """
    for value, option in _options(config, "maxauthtries"):
        if value.isdigit() and int(value) > 4:
            yield Hit(f"MaxAuthTries {value}: more than 4 attempts per connection"
                      f"{_scope(option)}", _where(config, option),
                      resource=f"maxauthtries:{option.condition if option else ''}",
                      evidence=_evidence("maxauthtries", value, option))


@rule("SSH026", "sshd-default-port", Severity.LOW, title="sshd listens on port 22",
      on=SshdConfig, checklist=["1.4.5"], refs=["CWE-693"], impact=SSHD_RELOAD)
def default_port(config: SshdConfig, settings):
    """Reports sshd listening on port 22 (optional hardening, seed 1.4.5): the port of a
    `ListenAddress` when it names one, else `Port` (22 when unset).

    Why it matters:
    Moving SSH off 22 does not stop a targeted attacker, but it removes most automated
    scanning noise from the logs, which makes real attacks easier to see.

    Example:
    ```
    Port 22
    ```

    Fix:
    Pick another port (`Port 2222`), open it in the firewall first, update SELinux port
    labels where used, reload sshd, and update clients' `~/.ssh/config`. Or waive this
    optional item.
    """
    if 22 not in config.listen_ports():
        return
    listen = [o for o in config.all("listenaddress") if o.value.endswith(":22")]
    option = listen[0] if listen else config.first("port")
    yield Hit("sshd listens on the default port 22" + _scope(option), _where(config, option),
              resource="port", evidence=_evidence("port", "22", option))


@rule("SSH027", "sshd-x11-forwarding", Severity.LOW, title="sshd allows X11 forwarding",
      on=SshdConfig, checklist=["9.2.2"], refs=[CIS + ".6", "CWE-668"], impact=SSHD_RELOAD)
def x11_forwarding(config: SshdConfig, settings):
    """Reports `X11Forwarding yes` (Debian's packaged sshd_config sets it).

    Why it matters:
    A server has no use for a remote display, and forwarding X11 exposes the connecting
    admin's X server to anyone who is root on the host (keystroke capture, screenshots).

    Example:
    ```
    X11Forwarding yes
    ```

    Fix:
    Set `X11Forwarding no` and run `systemctl reload ssh`.
    """
    for value, option in _options(config, "x11forwarding"):
        if value == "yes":
            yield Hit(f"X11 forwarding enabled{_scope(option)}", _where(config, option),
                      resource=f"x11forwarding:{option.condition if option else ''}",
                      evidence=_evidence("x11forwarding", value, option))


_LINE = re.compile(r"(?P<path>\S+?):? line (?P<line>\d+):")


@rule("SSH028", "sshd-config-invalid", Severity.MEDIUM,
      title="sshd configuration fails `sshd -t`", on=SshdConfig, checklist=["1.4.7"],
      refs=["sshd(8) -t"], impact=SSHD_RELOAD)
def config_invalid(config: SshdConfig, settings):
    """Reports a configuration that `sshd -t` rejects (seed 1.4.7), at the line sshd names.

    Why it matters:
    sshd keeps running with the configuration it loaded at start: the edits on disk are not
    in force, and the next restart (an upgrade, a reboot) fails and locks everyone out.

    Example:
    ```
    $ sshd -t
    /etc/ssh/sshd_config line 14: Bad configuration option: PermitRootlogn
    ```

    Fix:
    Fix the line `sshd -t` names, run `sshd -t` until it prints nothing, then `systemctl
    reload ssh`.
    """
    check = config.validation
    if check is None or check.ok:
        return
    first = next((line for line in check.message.splitlines() if line.strip()),
                 f"exit status {check.rc}")
    match = _LINE.search(check.message)
    where = Location(match.group("path"), int(match.group("line"))) if match \
        else config.location
    yield Hit(f"sshd -t rejects the configuration: {first}", where, resource="sshd-t",
              evidence=first[:300])


# --- provers: what shows the items hold ---------------------------------------------------

def _sshd_read(config: SshdConfig) -> bool:
    """A configuration read completely: `sshd -T` (defaults resolved) or the files, with no
    error and no Match block that could change the answer for some connection."""
    return config.error is None and (config.effective or bool(config.files))


def _setting(config: SshdConfig, keyword: str) -> str | None:
    if not _sshd_read(config) or config.conditional_values(keyword):
        return None
    return config.setting(keyword)


@prover("SSH020", "1.4.4", "1.1.4")
def root_login_off(config: SshdConfig, settings):
    return "PermitRootLogin no" if _setting(config, "PermitRootLogin") == "no" else None


@prover("SSH021", "1.4.1", "1.4.2")
def sshd_keys_only(config: SshdConfig, settings):
    if _setting(config, "PasswordAuthentication") != "no" or \
            _setting(config, "KbdInteractiveAuthentication") != "no":
        return None
    return "PasswordAuthentication no, KbdInteractiveAuthentication no"


@prover("SSH001", "1.4.1", "1.4.2")
def server_offers_keys_only(server: SshServer, settings):
    methods = server.auth_methods
    if server.error is not None or not methods:
        return None
    if set(methods) - {"publickey"}:
        return None
    return "the server offers only publickey"


@prover("SSH024", "1.4.6")
def allow_list_set(config: SshdConfig, settings):
    if not _sshd_read(config):
        return None
    for keyword in ("AllowUsers", "AllowGroups"):
        option = config.first(keyword)
        if option is not None and option.value.strip():
            return f"{keyword} {option.value.strip()}"
    return None


@prover("SSH026", "1.4.5")
def port_not_22(config: SshdConfig, settings):
    ports = [o.value.strip() for o in config.all("Port")] if _sshd_read(config) else []
    return f"Port {', '.join(ports)}" if ports and "22" not in ports else None


@prover("SSH028", "1.4.7")
def configuration_valid(config: SshdConfig, settings):
    if config.error is not None:
        return None
    validation = config.validation
    if validation is not None and getattr(validation, "ok", False):
        return "`sshd -t` accepts it"
    return "read from `sshd -T`, which only runs on a valid configuration" \
        if config.effective and validation is None else None
