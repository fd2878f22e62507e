"""A real Nginx Proxy Manager SQLite database for the tests, with NPM's schema: the one the
example lab's build script writes (examples/homelab/proxy/build_npm_database.py), so the
tests and the example share one copy of NPM's tables."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

SCRIPT = Path(__file__).parents[3] / "examples" / "homelab" / "proxy" / "build_npm_database.py"
WHEN = "2026-01-10 10:00:00"


def example_builder():
    spec = importlib.util.spec_from_file_location("build_npm_database", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NpmDatabase:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.executescript(example_builder().SCHEMA)
        self.db.commit()

    def certificate(self, name: str, provider: str, expires: str) -> int:
        cursor = self.db.execute(
            "INSERT INTO certificate (created_on, modified_on, owner_user_id, provider, "
            "nice_name, domain_names, expires_on, meta) VALUES (?, ?, 1, ?, ?, '[]', ?, '{}')",
            (WHEN, WHEN, provider, name, expires))
        self.db.commit()
        return cursor.lastrowid

    def access_list(self, name: str, users: int = 0, clients=()) -> int:
        cursor = self.db.execute(
            "INSERT INTO access_list (created_on, modified_on, owner_user_id, name, meta) "
            "VALUES (?, ?, 1, ?, '{}')", (WHEN, WHEN, name))
        list_id = cursor.lastrowid
        for index in range(users):
            self.db.execute(
                "INSERT INTO access_list_auth (created_on, modified_on, access_list_id, "
                "username, password, meta) VALUES (?, ?, ?, ?, 'placeholder', '{}')",
                (WHEN, WHEN, list_id, f"user{index}"))
        for directive, address in clients:
            self.db.execute(
                "INSERT INTO access_list_client (created_on, modified_on, access_list_id, "
                "address, directive, meta) VALUES (?, ?, ?, ?, ?, '{}')",
                (WHEN, WHEN, list_id, address, directive))
        self.db.commit()
        return list_id

    def proxy_host(self, domains, host: str, port: int, scheme: str = "http", **columns) -> int:
        values = {"certificate_id": 0, "ssl_forced": 0, "hsts_enabled": 0, "hsts_subdomains": 0,
                  "http2_support": 0, "block_exploits": 0, "allow_websocket_upgrade": 0,
                  "access_list_id": 0, "enabled": 1, "is_deleted": 0, "advanced_config": "",
                  "meta": {"nginx_online": True, "nginx_err": None}, "locations": []}
        values.update(columns)
        for key in ("meta", "locations"):
            values[key] = json.dumps(values[key])
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = self.db.execute(
            f"INSERT INTO proxy_host (created_on, modified_on, owner_user_id, domain_names, "
            f"forward_scheme, forward_host, forward_port, {names}) VALUES (?, ?, 1, ?, ?, ?, ?, "
            f"{marks})", (WHEN, WHEN, json.dumps(list(domains)), scheme, host, port,
                          *values.values()))
        self.db.commit()
        return cursor.lastrowid

    def close(self) -> None:
        self.db.close()
