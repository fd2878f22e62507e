"""What the exposure rules know about ports, as data: which container ports are databases,
message brokers or administration interfaces. Extend the table; `exposure.py` only reads it.

A port is classified by the image when the image is known (9000 is Portainer on
`portainer/portainer-ce` and ClickHouse on `clickhouse/clickhouse-server`), and by the
container port alone only where the number is unambiguous (5432, 2375…).
"""

from __future__ import annotations

from functools import lru_cache

from labwarden._record import FrozenRecord, set_frozen
from labwarden.model import Severity
from labwarden.knowledge import images as _images


class PortClass(FrozenRecord):
    __slots__ = ("kind", "label", "ports", "images", "severity")
    kind: str
    label: str
    ports: tuple[int, ...]
    images: tuple[str, ...]
    severity: Severity | None

    def __init__(self, kind: str, label: str, ports: tuple[int, ...] = (),
                 images: tuple[str, ...] = (), severity: Severity | None = None):
        set_frozen(self, "kind", kind)    # database | broker | admin
        set_frozen(self, "label", label)  # what listens there, for the message
        set_frozen(self, "ports", ports)  # container ports; () = every port of the image
        set_frozen(self, "images", images)  # see _images.matches; () = the port alone identifies it
        set_frozen(self, "severity", severity)  # overrides the rule's severity

    def matches(self, image: str | None, ports: list[int]) -> bool:
        if self.images and not _images.matches(image, self.images):
            return False
        return not self.ports or not self.ports_set.isdisjoint(ports)

    @property
    def ports_set(self) -> frozenset[int]:
        return frozenset(self.ports)


POSTGRES = ("postgres", "postgresql", "postgis", "timescaledb", "timescaledb-ha", "pgvector",
            "pgvecto-rs", "postgresql-repmgr")
MYSQL = ("mysql", "mysql-server", "mariadb", "mariadb-galera", "percona", "percona-server")
REDIS = ("redis", "redis-stack-server", "redis-cluster", "valkey", "keydb", "dragonfly")

_BROKER = Severity.HIGH    # brokers often serve LAN clients (IoT over MQTT): HIGH, not CRITICAL

# Image-specific entries come first: the first matching entry wins.
PORT_CLASSES = (
    # administration interfaces that live inside a database or broker image
    PortClass("admin", "RabbitMQ management UI", (15672,), ("rabbitmq",)),
    PortClass("admin", "EMQX dashboard", (18083,), ("emqx",)),
    PortClass("admin", "MinIO console", (9001,), ("minio/minio",)),
    # administration interfaces
    PortClass("admin", "Portainer", (9000, 9443), ("portainer/portainer-ce",
                                                    "portainer/portainer-ee",
                                                    "portainer/portainer")),
    PortClass("admin", "Portainer agent (controls Docker)", (9001,), ("portainer/agent",)),
    PortClass("admin", "Nginx Proxy Manager admin UI", (81,), ("jc21/nginx-proxy-manager",)),
    PortClass("admin", "Traefik dashboard and API", (8080,), ("traefik",)),
    PortClass("admin", "n8n editor", (5678,), ("n8nio/n8n", "n8n")),
    PortClass("admin", "Grafana", (3000,), ("grafana/grafana", "grafana/grafana-oss",
                                            "grafana/grafana-enterprise", "bitnami/grafana")),
    PortClass("admin", "Prometheus", (9090,), ("prom/prometheus", "prometheus")),
    PortClass("admin", "Alertmanager", (9093,), ("prom/alertmanager", "alertmanager")),
    PortClass("admin", "Home Assistant", (8123,), ("home-assistant", "homeassistant")),
    PortClass("admin", "cAdvisor (container metrics)", (8080,), ("cadvisor",)),
    PortClass("admin", "node-exporter (host metrics)", (9100,), ("node-exporter",)),
    PortClass("admin", "Loki", (3100,), ("grafana/loki", "loki")),
    PortClass("admin", "Netdata", (19999,), ("netdata",)),
    PortClass("admin", "pgAdmin", (80, 443), ("dpage/pgadmin4", "pgadmin4")),
    PortClass("admin", "Adminer (database admin)", (8080,), ("adminer",)),
    PortClass("admin", "phpMyAdmin", (80,), ("phpmyadmin",)),
    PortClass("admin", "mongo-express", (8081,), ("mongo-express",)),
    PortClass("admin", "Kibana", (5601,), ("kibana", "opensearch-dashboards")),
    PortClass("admin", "Dozzle (container logs)", (8080,), ("dozzle",)),
    PortClass("admin", "Dockge (stack manager)", (5001,), ("dockge",)),
    PortClass("admin", "wg-easy admin UI", (51821,), ("wg-easy",)),
    PortClass("admin", "Syncthing GUI", (8384,), ("syncthing",)),
    PortClass("admin", "Vault", (8200,), ("hashicorp/vault", "vault")),
    PortClass("admin", "Consul UI and API", (8500,), ("hashicorp/consul", "consul")),
    PortClass("admin", "code-server (a shell in the browser)", (8443, 8080), ("code-server",)),
    PortClass("admin", "Jenkins", (8080,), ("jenkins/jenkins", "jenkins")),
    PortClass("admin", "VM console (noVNC)", (8006,), ("dockurr/windows", "dockurr/macos",
                                                      "qemux/qemu", "qemux/qemu-docker")),
    # databases and caches: every port of these images
    PortClass("database", "PostgreSQL", (), POSTGRES),
    PortClass("database", "MySQL/MariaDB", (), MYSQL),
    PortClass("database", "MongoDB", (), ("mongo", "mongodb", "mongodb-community-server")),
    PortClass("database", "Redis", (), REDIS),
    PortClass("database", "Memcached", (), ("memcached",)),
    PortClass("database", "Elasticsearch", (), ("elasticsearch", "opensearch")),
    PortClass("database", "InfluxDB", (), ("influxdb",)),
    PortClass("database", "CouchDB", (), ("couchdb",)),
    PortClass("database", "Cassandra", (), ("cassandra", "scylla")),
    PortClass("database", "SQL Server", (), ("mssql/server",)),
    PortClass("database", "ClickHouse", (), ("clickhouse-server",)),
    PortClass("database", "Neo4j", (), ("neo4j",)),
    PortClass("database", "CockroachDB", (), ("cockroachdb/cockroach",)),
    PortClass("database", "RethinkDB", (), ("rethinkdb",)),
    PortClass("database", "ArangoDB", (), ("arangodb",)),
    PortClass("database", "etcd", (), ("etcd",)),
    # message brokers: every port of these images
    PortClass("broker", "RabbitMQ", (), ("rabbitmq",), _BROKER),
    PortClass("broker", "MQTT broker", (), ("eclipse-mosquitto", "mosquitto", "emqx"), _BROKER),
    PortClass("broker", "NATS", (), ("nats",), _BROKER),
    PortClass("broker", "Kafka", (), ("kafka", "cp-kafka"), _BROKER),
    PortClass("broker", "ActiveMQ", (), ("activemq", "activemq-artemis"), _BROKER),
    # ports that identify the service whatever the image
    PortClass("admin", "Docker Engine API without TLS (root on the host, no authentication)",
              (2375,), (), Severity.CRITICAL),
    PortClass("admin", "Docker Engine API", (2376,)),
    PortClass("admin", "Proxmox VE web UI", (8006,)),
    PortClass("admin", "Proxmox Backup Server web UI", (8007,)),
    PortClass("admin", "Netdata", (19999,)),
    PortClass("database", "PostgreSQL", (5432,)),
    PortClass("database", "MySQL/MariaDB", (3306,)),
    PortClass("database", "MongoDB", (27017, 27018, 27019)),
    PortClass("database", "Redis", (6379,)),
    PortClass("database", "Elasticsearch", (9200, 9300)),
    PortClass("database", "Memcached", (11211,)),
    PortClass("database", "Cassandra", (9042,)),
    PortClass("database", "SQL Server", (1433,)),
    PortClass("database", "CouchDB", (5984,)),
    PortClass("database", "InfluxDB", (8086,)),
    PortClass("database", "Neo4j", (7687,)),
    PortClass("database", "CockroachDB", (26257,)),
    PortClass("database", "RethinkDB", (28015,)),
    PortClass("database", "ArangoDB", (8529,)),
    PortClass("database", "etcd", (2379,)),
    PortClass("broker", "AMQP broker", (5672,), (), _BROKER),
    PortClass("broker", "MQTT broker", (1883,), (), _BROKER),
    PortClass("broker", "NATS", (4222,), (), _BROKER),
    PortClass("broker", "Kafka", (9092,), (), _BROKER),
    PortClass("broker", "ActiveMQ", (61616,), (), _BROKER),
)


def classify(image: str | None, ports: list[int]) -> PortClass | None:
    """The first table entry matching the image and any of the container ports."""
    return _classify(None if image is None else str(image), tuple(ports))


@lru_cache(maxsize=8192)   # called per port per rule; images and ports repeat across services
def _classify(image: str | None, ports: tuple[int, ...]) -> PortClass | None:
    # Entries whose image list cannot match are skipped by one set lookup on the image name,
    # and entries for other ports by one set operation (matches() would say no as well).
    wanted = frozenset(ports)
    for entry in _CANDIDATES.get(_images.name(image), _PORT_ONLY):
        if entry.ports and wanted.isdisjoint(entry.ports):
            continue
        if entry.matches(image, list(ports)):
            return entry
    return None


def _index() -> tuple[dict[str, tuple[PortClass, ...]], tuple[PortClass, ...]]:
    """For each image name, the entries that may match it, in table order (the first match
    wins), with the entries that match by port alone."""
    names_of = [frozenset(_images.name(c) for c in e.images) for e in PORT_CLASSES]
    every_name = frozenset().union(*names_of)
    by_name: dict[str, list[PortClass]] = {name: [] for name in every_name}
    for entry, names in zip(PORT_CLASSES, names_of):
        for name in names or every_name:
            by_name[name].append(entry)
    return ({k: tuple(v) for k, v in by_name.items()},
            tuple(e for e in PORT_CLASSES if not e.images))


_CANDIDATES, _PORT_ONLY = _index()


def _classify_slow(image: str | None, ports: tuple[int, ...]) -> PortClass | None:
    """The plain first-match scan `_classify` must agree with (kept for the tests)."""
    for entry in PORT_CLASSES:
        if entry.matches(image, ports):
            return entry
    return None
