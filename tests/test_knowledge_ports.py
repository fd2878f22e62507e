"""The indexed port classifier must agree with the plain first-match scan of the table."""

import itertools

from labwarden.knowledge import ports as _portdata  # noqa: N812

IMAGES = [None, "", "postgres:16", "docker.io/library/postgres", "portainer/portainer-ce:2.21",
          "clickhouse/clickhouse-server", "traefik:v3", "registry.lan/traefik", "rabbitmq:3",
          "minio/minio", "grafana/grafana:11", "someone/grafana", "ghcr.io/x/unknown:1",
          "redis:7", "mongo", "eclipse-mosquitto:2", "cadvisor", "adminer"]
PORTS = [(), (5432,), (9000,), (9001,), (8080,), (3000,), (1883,), (15672,), (6379,),
         (2375,), (2379,), (80, 5432), (9092,)]


def test_index_agrees_with_the_table_order() -> None:
    for image, ports in itertools.product(IMAGES, PORTS):
        assert _portdata._classify(image, ports) == _portdata._classify_slow(image, ports), \
            (image, ports)
