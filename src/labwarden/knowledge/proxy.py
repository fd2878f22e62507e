"""What the reverse-proxy rules know about the applications behind a proxy, as data.

Which administration interfaces are is `knowledge.ports` (kind "admin"); here, which of
them have no login of their own (anyone who reaches them through the proxy is in), and
which applications use WebSockets (a proxy host that upgrades connections for anything
else opens a path the application does not need).
"""

from __future__ import annotations

# `knowledge.ports` labels of admin interfaces without authentication of their own.
NO_LOGIN_ADMIN = frozenset({
    "Prometheus", "Alertmanager", "Loki", "cAdvisor (container metrics)",
    "node-exporter (host metrics)", "Netdata", "Dozzle (container logs)",
    "Docker Engine API without TLS (root on the host, no authentication)",
    "Traefik dashboard and API", "Consul UI and API", "Portainer agent (controls Docker)",
    "mongo-express",
})

# Images (see knowledge.images.matches) whose web interface uses WebSockets.
WEBSOCKET_IMAGES = (
    "home-assistant", "homeassistant", "portainer/portainer-ce", "portainer/portainer-ee",
    "portainer/portainer", "n8nio/n8n", "n8n", "grafana/grafana", "grafana/grafana-oss",
    "grafana/grafana-enterprise", "code-server", "louislam/uptime-kuma", "uptime-kuma",
    "jellyfin", "nextcloud", "vaultwarden/server", "gotify/server", "binwiederhier/ntfy",
    "mattermost-team-edition", "rocket.chat", "dozzle", "cockpit", "octoprint",
    "zigbee2mqtt", "nodered/node-red", "node-red", "esphome", "frigate", "guacamole",
    "immich-server", "paperless-ngx", "homebridge", "kasmweb", "dockge", "wg-easy",
    "syncthing", "matrixdotorg/synapse", "jupyter", "jupyterlab", "gitea", "forgejo",
    "excalidraw", "outline", "netdata", "dockurr/windows", "qemux/qemu",
)
