"""A rewrite keeps everything it does not mean to change: comments (on the line, on their own
line, suppressions), key order, quote styles, anchors, aliases and merge keys, indentation
style, line endings, a byte-order mark and a missing final newline. Whole files are
compared, not excerpts."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fix_lab import write

BEFORE = """\
# Paperless, hand-written: every comment here must survive.
name: 'paperless'          # single quotes stay single

x-logging: &logging
  driver: json-file
  options:
    max-size: "10m"
    max-file: "3"

services:
  broker:
    image: "docker.io/library/redis:7.4.1"   # double quotes stay double
    container_name: paperless-broker
    restart: unless-stopped
    logging: *logging
    read_only: true
    security_opt: ['label:disable']   # flow list, single-quoted item

  db:
    image: docker.io/library/postgres:16.4
    container_name: paperless-db
    restart: unless-stopped
    # labwarden: ignore[CMP050] the socket is read-only and needed for backups
    volumes:
      - pgdata:/var/lib/postgresql/data
      - /var/run/docker.sock:/var/run/docker.sock:ro
    ports:
      - '5432:5432'      # reached by the backup host

  webserver:
    image: ghcr.io/paperless-ngx/paperless-ngx:2.13.5
    container_name: paperless-webserver
    depends_on: [db, broker]
    ports:
      - target: 8000
        published: 8000   # long syntax
    environment:
      PAPERLESS_REDIS: redis://broker:6379
      PAPERLESS_DBHOST: "db"

volumes:
  pgdata:
"""

AFTER = """\
# Paperless, hand-written: every comment here must survive.
name: 'paperless'          # single quotes stay single

x-logging: &logging
  driver: json-file
  options:
    max-size: "10m"
    max-file: "3"

services:
  broker:
    image: "docker.io/library/redis:7.4.1"   # double quotes stay double
    container_name: paperless-broker
    restart: unless-stopped
    logging: *logging
    read_only: true
    security_opt: ['label:disable', 'no-new-privileges:true']   # flow list, single-quoted item

  db:
    image: docker.io/library/postgres:16.4
    container_name: paperless-db
    restart: unless-stopped
    security_opt: [no-new-privileges:true]
    logging:
      driver: json-file
      options:
        max-size: "10m"
        max-file: "3"
    # labwarden: ignore[CMP050] the socket is read-only and needed for backups
    volumes:
      - pgdata:/var/lib/postgresql/data
      - /var/run/docker.sock:/var/run/docker.sock:ro
    ports:
      - '127.0.0.1:5432:5432'      # reached by the backup host

  webserver:
    image: ghcr.io/paperless-ngx/paperless-ngx:2.13.5
    container_name: paperless-webserver
    restart: unless-stopped
    security_opt: [no-new-privileges:true]
    logging:
      driver: json-file
      options:
        max-size: "10m"
        max-file: "3"
    depends_on: [db, broker]
    ports:
      - target: 8000
        published: 8000   # long syntax
        host_ip: 127.0.0.1
    environment:
      PAPERLESS_REDIS: redis://broker:6379
      PAPERLESS_DBHOST: "db"

volumes:
  pgdata:
"""


def test_whole_file_keeps_comments_order_quotes_and_anchors(tmp_path: Path, run_fix) -> None:
    compose = tmp_path / "paperless" / "compose.yaml"
    compose.parent.mkdir()
    compose.write_text(BEFORE)
    run_fix(str(tmp_path), "--no-config", "--apply")
    result = run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "NET001,NET002")
    assert result.code == 0, result.err
    assert compose.read_text() == AFTER
    # The inline suppression still sits right above the key it suppresses.
    lines = AFTER.splitlines()
    assert lines[lines.index("    volumes:", 20) - 1].startswith("    # labwarden: ignore[CMP050]")


def test_a_shared_anchor_is_left_and_the_reason_given(tmp_path: Path, run_fix) -> None:
    text = """\
    x-base: &base
      image: nginx:1.27.3
      restart: unless-stopped
      logging:
        driver: json-file        # no rotation: every user of the anchor lacks it
    services:
      one:
        <<: *base
        security_opt: [no-new-privileges:true]
      two:
        <<: *base
        security_opt: [no-new-privileges:true]
    """
    write(tmp_path, {"app/compose.yaml": text})
    before = (tmp_path / "app/compose.yaml").read_text()
    result = run_fix(str(tmp_path), "--no-config", "--apply")
    assert (tmp_path / "app/compose.yaml").read_text() == before
    skipped = result.line("CMP073", "skipped")
    assert skipped.count("`logging` comes from `<<: *base`, shared with other services") == 2


def test_an_aliased_logging_mapping_is_left(tmp_path: Path, run_fix) -> None:
    text = """\
    services:
      one:
        image: nginx:1.27.3
        restart: unless-stopped
        logging: &log
          driver: json-file
      two:
        image: nginx:1.27.3
        restart: unless-stopped
        logging: *log
    """
    write(tmp_path, {"app/compose.yaml": text})
    result = run_fix(str(tmp_path), "--no-config", "--rule", "CMP073")
    assert result.out == ""
    assert "the anchor `&log`, used in 2 places" in result.line("CMP073", "skipped")


def test_an_anchor_under_an_extension_with_one_user_is_edited(tmp_path: Path, run_fix) -> None:
    text = """\
    x-logging: &logging
      driver: json-file
    services:
      one:
        image: nginx:1.27.3
        restart: unless-stopped
        logging: *logging
    """
    write(tmp_path, {"app/compose.yaml": text})
    run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP073")
    assert (tmp_path / "app/compose.yaml").read_text() == textwrap.dedent("""\
    x-logging: &logging
      driver: json-file
      options:
        max-size: "10m"
        max-file: "3"
    services:
      one:
        image: nginx:1.27.3
        restart: unless-stopped
        logging: *logging
    """)


def test_lines_ruamel_would_reformat_stay_as_written(tmp_path: Path, run_fix) -> None:
    # Four-space indentation, list dashes at the key's column, extra spaces after colons and
    # inside flow brackets, no final newline: only the new lines differ.
    text = ("services:\n"
            "    web:\n"
            "        image:    nginx:1.27.3\n"
            "        ports:\n"
            "        - \"8080:80\"\n"
            "        cap_drop: [ ALL ]\n"
            "        environment:\n"
            "            A:   \"1\"\n"
            "    db:\n"
            "        image: postgres:16.4\n"
            "        restart: always")
    compose = tmp_path / "app" / "compose.yaml"
    compose.parent.mkdir()
    compose.write_text(text)
    result = run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP071,CMP073")
    assert result.code == 0, result.err
    assert compose.read_text() == (
        "services:\n"
        "    web:\n"
        "        image:    nginx:1.27.3\n"
        "        restart: unless-stopped\n"
        "        logging:\n"
        "            driver: json-file\n"
        "            options:\n"
        "                max-size: \"10m\"\n"
        "                max-file: \"3\"\n"
        "        ports:\n"
        "        - \"8080:80\"\n"
        "        cap_drop: [ ALL ]\n"
        "        environment:\n"
        "            A:   \"1\"\n"
        "    db:\n"
        "        image: postgres:16.4\n"
        "        restart: always\n"
        "        logging:\n"
        "            driver: json-file\n"
        "            options:\n"
        "                max-size: \"10m\"\n"
        "                max-file: \"3\"")


def test_crlf_line_endings_and_a_bom_are_kept(tmp_path: Path, run_fix) -> None:
    compose = tmp_path / "app" / "compose.yaml"
    compose.parent.mkdir()
    compose.write_bytes("\ufeffservices:\r\n  web:\r\n    image: nginx:1.27.3\r\n"
                        "    logging:\r\n      driver: local\r\n".encode())
    run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "CMP071")
    assert compose.read_bytes() == ("\ufeffservices:\r\n  web:\r\n    image: nginx:1.27.3\r\n"
                                    "    restart: unless-stopped\r\n"
                                    "    logging:\r\n      driver: local\r\n").encode()


def test_comment_lines_after_the_insertion_point_move_below_the_new_lines(
        tmp_path: Path, run_fix) -> None:
    text = """\
    services:
      app:
        image: ghcr.io/example/app:1.4   # pinned on purpose

        # labwarden: ignore[CMP015] needs the host network for discovery
        network_mode: host
        security_opt:
          - no-new-privileges:true   # already there
        logging:
          driver: json-file
          options:
            max-size: "10m"

      # the worker follows
      worker:
        image: ghcr.io/example/worker:1.4
        restart: unless-stopped
        security_opt: [no-new-privileges:true]
        logging: {driver: json-file, options: {max-file: "5"}}
    """
    write(tmp_path, {"app/compose.yaml": text})
    run_fix(str(tmp_path), "--no-config", "--apply")
    assert (tmp_path / "app/compose.yaml").read_text() == textwrap.dedent("""\
    services:
      app:
        image: ghcr.io/example/app:1.4   # pinned on purpose
        restart: unless-stopped

        # labwarden: ignore[CMP015] needs the host network for discovery
        network_mode: host
        security_opt:
          - no-new-privileges:true   # already there
        logging:
          driver: json-file
          options:
            max-size: "10m"
            max-file: "3"

      # the worker follows
      worker:
        image: ghcr.io/example/worker:1.4
        restart: unless-stopped
        security_opt: [no-new-privileges:true]
        logging: {driver: json-file, options: {max-file: "5", max-size: "10m"}}
    """)
