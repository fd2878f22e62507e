"""Data the SSH rules judge by: weak algorithms with a severity and a reason each (ssh-audit's
and Mozilla's stance, made into severities), and OpenSSH releases with known server-side
vulnerabilities, with the distribution builds known to carry the fix."""

from __future__ import annotations

import re
from dataclasses import dataclass

from labwarden.model import Severity

H, M, L = Severity.HIGH, Severity.MEDIUM, Severity.LOW
NIST = "NIST P-curve whose constants are unexplained (ssh-audit: suspected backdoor)"
SHA1 = "SHA-1 (collisions are practical)"

# name → (severity, why). A name ending in `*` is a prefix (GSS-API kex names carry a
# mechanism suffix).
WEAK_KEX: dict[str, tuple[Severity, str]] = {
    "diffie-hellman-group1-sha1": (H, "1024-bit modulus (Logjam, precomputable) and " + SHA1),
    "gss-group1-sha1-*": (H, "1024-bit modulus and " + SHA1),
    "rsa1024-sha1": (H, "1024-bit RSA and " + SHA1),
    "diffie-hellman-group14-sha1": (M, SHA1 + " with a 2048-bit modulus"),
    "gss-group14-sha1-*": (M, SHA1),
    "diffie-hellman-group-exchange-sha1": (M, SHA1),
    "gss-gex-sha1-*": (M, SHA1),
    "diffie-hellman-group14-sha256": (L, "2048-bit modulus: 112-bit strength"),
    "gss-group14-sha256-*": (L, "2048-bit modulus: 112-bit strength"),
    "rsa2048-sha256": (L, "2048-bit RSA: 112-bit strength"),
    "ecdh-sha2-nistp256": (L, NIST),
    "ecdh-sha2-nistp384": (L, NIST),
    "ecdh-sha2-nistp521": (L, NIST),
    "gss-nistp256-sha256-*": (L, NIST),
    "ecdh-sha2-1.3.132.0.10": (L, "secp256k1, not a curve chosen for key exchange"),
    "diffie-hellman-group-exchange-sha224@ssh.com": (L, "SHA-224"),
    "diffie-hellman-group14-sha224@ssh.com": (L, "2048-bit modulus and SHA-224"),
}

WEAK_CIPHERS: dict[str, tuple[Severity, str]] = {
    "none": (Severity.CRITICAL, "no encryption at all"),
    "des-cbc": (H, "56-bit DES"),
    "des": (H, "56-bit DES"),
    "3des-cbc": (H, "3DES: 64-bit block (Sweet32), 112-bit strength"),
    "3des-ctr": (H, "3DES: 64-bit block (Sweet32), 112-bit strength"),
    "arcfour": (H, "RC4: biased keystream"),
    "arcfour128": (H, "RC4: biased keystream"),
    "arcfour256": (H, "RC4: biased keystream"),
    "blowfish-cbc": (H, "Blowfish: 64-bit block (Sweet32)"),
    "blowfish-ctr": (H, "Blowfish: 64-bit block (Sweet32)"),
    "cast128-cbc": (H, "CAST-128: 64-bit block (Sweet32)"),
    "cast128-ctr": (H, "CAST-128: 64-bit block (Sweet32)"),
    "idea-cbc": (H, "IDEA: 64-bit block (Sweet32)"),
}
CBC_REASON = "CBC mode (plaintext recovery CVE-2008-5161; Terrapin with EtM MACs)"

WEAK_MACS: dict[str, tuple[Severity, str]] = {
    "none": (Severity.CRITICAL, "no integrity protection"),
    "hmac-md5": (M, "MD5"),
    "hmac-md5-96": (M, "MD5, truncated to 96 bits"),
    "hmac-md5-etm@openssh.com": (M, "MD5"),
    "hmac-md5-96-etm@openssh.com": (M, "MD5, truncated to 96 bits"),
    "hmac-ripemd160": (L, "RIPEMD-160, little analysed"),
    "hmac-ripemd160@openssh.com": (L, "RIPEMD-160, little analysed"),
    "hmac-ripemd160-etm@openssh.com": (L, "RIPEMD-160, little analysed"),
    "hmac-sha1": (L, "SHA-1"),
    "hmac-sha1-etm@openssh.com": (L, "SHA-1"),
    "hmac-sha1-96": (L, "SHA-1, truncated to 96 bits"),
    "hmac-sha1-96-etm@openssh.com": (L, "SHA-1, truncated to 96 bits"),
    "umac-32@openssh.com": (M, "32-bit tag"),
    "umac-64@openssh.com": (L, "64-bit tag"),
    "umac-64-etm@openssh.com": (L, "64-bit tag"),
    "hmac-sha2-256-96": (L, "truncated to 96 bits"),
    "hmac-sha2-512-96": (L, "truncated to 96 bits"),
    "hmac-sha2-256-96-etm@openssh.com": (L, "truncated to 96 bits"),
    "hmac-sha2-512-96-etm@openssh.com": (L, "truncated to 96 bits"),
}
ENCRYPT_AND_MAC = "encrypt-and-MAC (the MAC covers the plaintext; prefer the -etm variant)"


def lookup(table: dict[str, tuple[Severity, str]], name: str) -> tuple[Severity, str] | None:
    found = table.get(name)
    if found:
        return found
    for key, value in table.items():
        if key.endswith("*") and name.startswith(key[:-1]):
            return value
    return None


def weak_cipher(name: str) -> tuple[Severity, str] | None:
    found = lookup(WEAK_CIPHERS, name)
    if found:
        return found
    if name.endswith("-cbc") or "-cbc@" in name:
        return L, CBC_REASON
    return None


def weak_mac(name: str) -> tuple[Severity, str] | None:
    found = lookup(WEAK_MACS, name)
    if found:
        return found
    if name.startswith(("hmac-", "umac-")) and "-etm@" not in name:
        return L, ENCRYPT_AND_MAC
    return None


# --- OpenSSH vulnerabilities ----------------------------------------------------------------

Version = tuple[int, int, int]          # (major, minor, portable patch): 9.2p1 → (9, 2, 1)


@dataclass(frozen=True)
class Vulnerability:
    cve: str
    summary: str
    severity: Severity                  # when the version is certainly vulnerable
    ranges: tuple[tuple[Version, Version], ...]     # [first affected, first fixed)
    # (distribution, upstream version) → the first fixed package revision
    fixed_builds: tuple[tuple[str, Version, str], ...] = ()


VULNERABILITIES = (
    Vulnerability(
        "CVE-2024-6387", "regreSSHion: a signal handler race in sshd lets an unauthenticated "
        "attacker run code as root", H,
        (((8, 5, 1), (9, 8, 1)), ((0, 0, 0), (4, 4, 1))),
        (("debian", (9, 2, 1), "2+deb12u3"), ("ubuntu", (8, 9, 1), "3ubuntu0.10"),
         ("ubuntu", (9, 3, 1), "1ubuntu3.6"), ("ubuntu", (9, 6, 1), "3ubuntu13.3"))),
    Vulnerability(
        "CVE-2025-26466", "unauthenticated denial of service: SSH2_MSG_PING floods exhaust "
        "sshd's memory and CPU", M, (((9, 5, 1), (9, 9, 2)),)),
    Vulnerability(
        "CVE-2023-25136", "a double free in sshd before authentication", M,
        (((9, 1, 1), (9, 2, 1)),)),
    Vulnerability(
        "CVE-2018-15473", "user enumeration: valid account names can be told from invalid "
        "ones", M, (((0, 0, 0), (7, 8, 1)),)),
    Vulnerability(
        "CVE-2016-6210", "user enumeration by the timing of password checks", M,
        (((0, 0, 0), (7, 3, 1)),)),
)


def affected(vuln: Vulnerability, version: Version) -> bool:
    return any(low <= version < high for low, high in vuln.ranges)


_DISTRO = re.compile(r"^(Debian|Ubuntu|Raspbian)-(\S+)", re.IGNORECASE)


def distribution_build(comments: str) -> tuple[str, str] | None:
    """`Debian-2+deb12u3` → ("debian", "2+deb12u3"); `Ubuntu-3ubuntu0.10` → ("ubuntu", …)."""
    match = _DISTRO.match(comments.strip())
    if not match:
        return None
    name = match.group(1).lower()
    return ("debian" if name == "raspbian" else name), match.group(2)


def package_build(package: str) -> tuple[str, str, str] | None:
    """`dpkg 1:9.2p1-2+deb12u3` → ("debian", "2+deb12u3", "9.2p1"): the distribution, its
    revision and the upstream version of an installed openssh-server package; None for a
    package manager or a revision the fixed-build table cannot judge."""
    manager, _, version = package.partition(" ")
    if manager != "dpkg" or "-" not in version:
        return None
    upstream, _, revision = version.partition(":")[2 if ":" in version else 0].rpartition("-")
    if "ubuntu" in revision:
        return "ubuntu", revision, upstream
    if "deb" in revision or revision.replace(".", "").isdigit():
        return "debian", revision, upstream
    return None


def fixed_revision(vuln: Vulnerability, distro: str, version: Version) -> str | None:
    for name, upstream, revision in vuln.fixed_builds:
        if name == distro and upstream == version:
            return revision
    return None


# dpkg's version comparison (lib/dpkg/version.c verrevcmp), for Debian revisions.
def _order(char: str) -> int:
    if char.isdigit():
        return 0
    if char.isalpha():
        return ord(char)
    if char == "~":
        return -1
    return ord(char) + 256 if char else 0


def dpkg_compare(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0
