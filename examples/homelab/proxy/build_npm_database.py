#!/usr/bin/env python3
"""Build data/database.sqlite: the example lab's Nginx Proxy Manager database.

NPM (jc21/nginx-proxy-manager 2.12, this stack) keeps its proxy hosts in SQLite at
/data/database.sqlite, here ./data/database.sqlite through the stack's bind mount. This
script writes that file with NPM's own schema (the tables and columns of NPM's
backend/migrations that labwarden reads: proxy_host, certificate, access_list,
access_list_auth, access_list_client) and the lab's proxy hosts, so the committed database
can be reviewed as text here and rebuilt:

    python3 examples/homelab/proxy/build_npm_database.py

No user, password hash or private key is in it: the access list's user row holds a
placeholder, never a real hash, and NPM's user and auth tables are left out.

The proxy hosts (see the lab's README):
  grafana.lab.example    done right: certificate, Force SSL, HSTS with subdomains, HTTP/2,
                         Block Common Exploits, WebSockets (Grafana Live uses them), an
                         access list for the admin network
  n8n.lab.example        done right, with the same access list
  paperless.lab.example  planted: Force SSL off (HTTP is not redirected), so the ticked
                         "HSTS Enabled" is never sent; Block Common Exploits off
  portainer.lab.example  planted: Portainer (controls Docker) with no access list
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATABASE = os.path.join(HERE, "data", "database.sqlite")
WHEN = "2026-11-20 10:00:00"

# NPM's tables as its knex migrations create them in SQLite (20180618015850_initial.js and
# the migrations that added columns: websockets, forward_host, http2_support,
# forward_scheme, disabled, customlocations, hsts, access_list_client(_fix), pass_auth).
SCHEMA = """
CREATE TABLE proxy_host (
  id integer not null primary key autoincrement,
  created_on datetime not null, modified_on datetime not null,
  owner_user_id integer not null, is_deleted integer not null default '0',
  domain_names json not null, forward_host varchar(255) not null,
  forward_port integer not null, access_list_id integer not null default '0',
  certificate_id integer not null default '0', ssl_forced integer not null default '0',
  caching_enabled integer not null default '0', block_exploits integer not null default '0',
  advanced_config text not null default '', meta json not null,
  allow_websocket_upgrade integer not null default '0',
  http2_support integer not null default '0',
  forward_scheme varchar(255) not null default 'http',
  enabled integer not null default '1', locations json,
  hsts_enabled integer not null default '0', hsts_subdomains integer not null default '0');
CREATE TABLE certificate (
  id integer not null primary key autoincrement,
  created_on datetime not null, modified_on datetime not null,
  owner_user_id integer not null, is_deleted integer not null default '0',
  provider varchar(255) not null, nice_name varchar(255) not null default '',
  domain_names json not null, expires_on datetime not null, meta json not null);
CREATE TABLE access_list (
  id integer not null primary key autoincrement,
  created_on datetime not null, modified_on datetime not null,
  owner_user_id integer not null, is_deleted integer not null default '0',
  name varchar(255) not null, meta json not null,
  satisfy_any integer not null default '0', pass_auth integer not null default '1');
CREATE TABLE access_list_auth (
  id integer not null primary key autoincrement,
  created_on datetime not null, modified_on datetime not null,
  access_list_id integer not null, username varchar(255) not null,
  password varchar(255) not null, meta json not null);
CREATE TABLE access_list_client (
  id integer not null primary key autoincrement,
  created_on datetime not null, modified_on datetime not null,
  access_list_id integer not null, address varchar(255) not null,
  directive varchar(255) not null, meta json not null);
"""

META = json.dumps({"letsencrypt_agree": False, "dns_challenge": False, "nginx_online": True,
                   "nginx_err": None})


def create(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    connection = sqlite3.connect(path)
    with connection:
        connection.executescript(SCHEMA)
        connection.execute(
            "INSERT INTO certificate (created_on, modified_on, owner_user_id, provider, "
            "nice_name, domain_names, expires_on, meta) VALUES (?, ?, 1, 'other', ?, ?, ?, '{}')",
            (WHEN, WHEN, "lab wildcard (step-ca)", json.dumps(["*.lab.example"]),
             "2028-03-31 00:00:00"))
        connection.execute(
            "INSERT INTO access_list (created_on, modified_on, owner_user_id, name, meta) "
            "VALUES (?, ?, 1, 'lab-admins', '{}')", (WHEN, WHEN))
        connection.execute(
            "INSERT INTO access_list_auth (created_on, modified_on, access_list_id, username, "
            "password, meta) VALUES (?, ?, 1, 'jdoe', 'placeholder-not-a-hash', '{}')",
            (WHEN, WHEN))
        connection.execute(
            "INSERT INTO access_list_client (created_on, modified_on, access_list_id, address, "
            "directive, meta) VALUES (?, ?, 1, '192.168.10.0/24', 'allow', '{}')", (WHEN, WHEN))
        hosts = [
            # domain, forward scheme/host/port, access list, ssl_forced, hsts, subdomains,
            # http2, block_exploits, websockets
            ("grafana.lab.example", "http", "monitoring-grafana", 3000, 1, 1, 1, 1, 1, 1, 1),
            ("n8n.lab.example", "http", "n8n-app", 5678, 1, 1, 1, 1, 1, 1, 1),
            ("paperless.lab.example", "http", "paperless-webserver", 8000, 0, 0, 1, 0, 1, 0, 0),
            ("portainer.lab.example", "https", "portainer-server", 9443, 0, 1, 1, 1, 1, 1, 1),
        ]
        for (domain, scheme, host, port, access, forced, hsts, subdomains, http2, exploits,
             websockets) in hosts:
            connection.execute(
                "INSERT INTO proxy_host (created_on, modified_on, owner_user_id, domain_names, "
                "forward_scheme, forward_host, forward_port, access_list_id, certificate_id, "
                "ssl_forced, hsts_enabled, hsts_subdomains, http2_support, block_exploits, "
                "allow_websocket_upgrade, advanced_config, meta, locations) VALUES "
                "(?, ?, 1, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, '', ?, '[]')",
                (WHEN, WHEN, json.dumps([domain]), scheme, host, port, access, forced, hsts,
                 subdomains, http2, exploits, websockets, META))
    connection.close()


if __name__ == "__main__":
    create(sys.argv[1] if len(sys.argv) > 1 else DATABASE)
