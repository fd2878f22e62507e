"""Ports as the rulesets write them, turned into the spans every parser and the evaluator
share: `"lo-hi"` strings, or `"?text"` for a port the model cannot name."""

from __future__ import annotations


def iptables_ports(text: str) -> tuple[str, ...]:
    """`22`, `1000:2000`, `80,443` → ("22-22", "1000-2000", "80-80", "443-443")."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.replace("-", ":").partition(":")
        low_n, high_n = port_number(low or "0"), port_number(high or "65535") if sep else None
        if low_n is None:
            out.append(f"?{part}")
            continue
        out.append(f"{low_n}-{high_n if high_n is not None else low_n}")
    return tuple(out)


_SERVICES = {"ssh": 22, "http": 80, "https": 443, "domain": 53, "smtp": 25, "ftp": 21,
             "telnet": 23, "ntp": 123, "bootps": 67, "bootpc": 68, "dhcpv6-client": 546,
             "dhcpv6-server": 547, "mdns": 5353, "postgresql": 5432, "mysql": 3306,
             "http-alt": 8080, "imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995,
             "submission": 587, "smtps": 465, "microsoft-ds": 445, "netbios-ssn": 139,
             "snmp": 161, "rsync": 873, "ldap": 389, "ldaps": 636, "syslog": 514,
             "sunrpc": 111, "nfs": 2049, "openvpn": 1194, "ms-wbt-server": 3389,
             "redis": 6379, "isakmp": 500, "ipsec-nat-t": 4500}


def port_number(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        return int(text)
    return _SERVICES.get(text.lower())


def nft_ports(values: tuple[str, ...]) -> tuple[str, ...]:
    """("22", "1000-2000", "ssh") → ("22-22", "1000-2000", "22-22")."""
    out = []
    for value in values:
        low, sep, high = value.partition("-")
        low_n = port_number(low)
        high_n = port_number(high) if sep else low_n
        out.append(f"{low_n}-{high_n}" if low_n is not None and high_n is not None
                   else f"?{value}")
    return tuple(out)


def span_bounds(text: str) -> tuple[int | None, int]:
    """"1000-2000" → (1000, 2000); an unnamed port ("?x") → (None, 0)."""
    if text.startswith("?"):
        return None, 0
    low, _, high = text.partition("-")
    return int(low), int(high or low)
