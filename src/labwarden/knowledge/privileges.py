"""Images that need privileges at run time, so `no-new-privileges` or `cap_drop: [ALL]` is
not a "safe" change for them (issue 16): the fix that adds it would break a working setup.

- `no-new-privileges` stops an `execve` from gaining privileges through setuid bits or file
  capabilities. It breaks `sudo` (setuid root) and binaries given capabilities with
  `setcap` (Pi-hole's FTL). It does not stop an entrypoint that starts as root from
  dropping to a user (s6-overlay's `s6-setuidgid`, gosu, su-exec): dropping is no gain.
- `cap_drop: [ALL]` removes what such an entrypoint needs to drop (SETUID, SETGID) and to
  take ownership of its volumes (CHOWN, DAC_OVERRIDE, FOWNER), and what network tools need
  (NET_RAW for ping, NET_ADMIN for VPNs and DHCP).

Matched with `knowledge.images.matches` (a candidate with a slash is a repository, one
without is the image's last name component); the variables are read from the service's
environment, whatever image sets them.
"""

from __future__ import annotations

from labwarden.knowledge import images as _images

# Variables with which an image grants its user sudo (linuxserver.io's SUDO_PASSWORD and
# SUDO_PASSWORD_HASH, openssh-server's SUDO_ACCESS, Jupyter's GRANT_SUDO, …).
SUDO_VARIABLES = frozenset({
    "SUDO_PASSWORD", "SUDO_PASSWORD_HASH", "SUDO_ACCESS", "GRANT_SUDO", "PASSWORDLESS_SUDO",
    "SUDO_NOPASSWD", "ENABLE_SUDO",
})

# What an s6-overlay image (starts as root, chowns its volumes, drops to PUID/PGID) needs
# back after `cap_drop: [ALL]`.
S6_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")


class Need:
    """A privilege an image needs: `nnp` when no-new-privileges breaks it; `caps`, what to
    `cap_add` back after `cap_drop: [ALL]`."""

    __slots__ = ("why", "nnp", "caps")

    def __init__(self, why: str, nnp: bool = False, caps: tuple[str, ...] = ()):
        self.why = why
        self.nnp = nnp
        self.caps = caps


# (images, what they need)
IMAGES: tuple[tuple[tuple[str, ...], Need], ...] = (
    (("linuxserver/code-server", "codercom/code-server", "code-server"),
     Need("its terminal user becomes root with sudo (setuid), which no-new-privileges "
          "blocks", nnp=True)),
    (("linuxserver/webtop", "linuxserver/rdesktop", "kasmweb/desktop", "kasmweb/ubuntu-jammy-"
      "desktop"), Need("a desktop whose user runs sudo (setuid)", nnp=True)),
    (("pihole/pihole",), Need("FTL gets its capabilities from the file (setcap), which "
                              "no-new-privileges blocks; it needs NET_ADMIN for DHCP",
                              nnp=True, caps=("CHOWN", "NET_ADMIN", "NET_BIND_SERVICE",
                                              "NET_RAW", "SETGID", "SETUID", "SYS_NICE"))),
    (("linuxserver/wireguard", "wg-easy", "weejewel/wg-easy", "wg-easy/wg-easy"),
     Need("WireGuard needs NET_ADMIN (and SYS_MODULE to load the module)",
          caps=("NET_ADMIN", "SYS_MODULE"))),
    (("tailscale/tailscale",), Need("Tailscale needs NET_ADMIN and NET_RAW for its tunnel",
                                    caps=("NET_ADMIN", "NET_RAW"))),
    (("louislam/uptime-kuma", "uptime-kuma"), Need("ping monitors need NET_RAW",
                                                   caps=("NET_RAW",))),
    (("gitlab/gitlab-ce", "gitlab/gitlab-ee"), Need(
        "GitLab's runit starts as root and switches each service's user",
        caps=("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"))),
)

# Images built on s6-overlay that start as root and drop to PUID/PGID.
S6_IMAGE_PREFIXES = ("linuxserver/", "hotio/")


def needs(image: str | None, variables) -> list[Need]:
    """What the image (with these environment variable names) needs at run time."""
    found = []
    names = {str(v).upper() for v in variables}
    sudo = sorted(names & SUDO_VARIABLES)
    if sudo:
        found.append(Need(f"`{sudo[0]}` gives its user sudo (setuid root), which "
                          "no-new-privileges blocks", nnp=True))
    for candidates, need in IMAGES:
        if _images.matches(image, candidates):
            found.append(need)
    repository = _images.repository(image)
    if repository.startswith(S6_IMAGE_PREFIXES):
        found.append(Need("s6-overlay starts as root, takes ownership of its volumes and "
                          "drops to PUID/PGID", caps=S6_CAPABILITIES))
    return found
