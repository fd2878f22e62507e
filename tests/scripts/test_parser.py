"""The shell lexer and parser behind the ShellScript fact: quoting, substitutions,
here-documents, pipelines, compound commands, and commands handed to other shells."""

from __future__ import annotations

import random

import pytest

from labwarden.sources.scripts import (
    container_uses, parse_script, parse_shebang, unwrap)


def commands(text: str):
    return parse_script(text).commands


def programs(text: str) -> list[tuple[int, str | None]]:
    return [(c.line, c.unwrapped()[0]) for c in commands(text)]


def uses(text: str):
    return container_uses(commands(text))[0]


def test_quoted_text_is_not_a_command() -> None:
    found = programs('echo "docker exec x"\necho \'rm -rf /\'\n# docker stop y\n')
    assert found == [(1, "echo"), (2, "echo")]


def test_words_keep_quoting_and_expansions() -> None:
    [command] = commands('rm -rf "$DIR"/* ${B:?}x \'$lit\' $\'a\\tb\'\n')
    words = command.words
    assert [w.value for w in words] == ["rm", "-rf", "$DIR/*", "${B:?}x", "$lit", "a\tb"]
    dir_part = words[2].parts[0]
    assert (dir_part.kind, dir_part.name, dir_part.quoted) == ("param", "DIR", True)
    assert words[2].parts[1].text == "/*" and not words[2].parts[1].quoted
    guarded = words[3].parts[0]
    assert (guarded.name, guarded.op, guarded.quoted) == ("B", ":?", False)
    assert words[4].literal == "$lit" and words[5].literal == "a\tb"


def test_parameter_operators() -> None:
    [command] = commands('echo ${A:-/srv} ${#B} ${C%/} ${D:+x} $1 $@ "${E[0]}"\n')
    parts = [w.parts[0] for w in command.words[1:]]
    assert [(p.name, p.op) for p in parts] == [
        ("A", ":-"), ("B", "#len"), ("C", "%"), ("D", ":+"), ("1", ""), ("@", ""), ("E", "")]
    assert parts[0].arg == "/srv"


def test_command_substitutions_are_parsed_and_linked() -> None:
    found = commands('X=$(docker ps -q --filter name=a)\nY=`docker inspect b`\n'
                     'echo "$(curl -s https://x | sh)"\n')
    docker = [c for c in found if c.unwrapped()[0] == "docker"]
    assert [c.origin for c in docker] == ["$(", "`"]
    assert docker[0].parent is not None and docker[0].parent.assignments[0][0] == "X"
    shell = next(c for c in found if c.unwrapped()[0] == "sh")
    assert shell.pipe_from is not None and shell.pipe_from.unwrapped()[0] == "curl"


def test_assignments_before_a_command() -> None:
    [command] = commands("PGPASSWORD=x LANG=C pg_dump -U app app\n")
    assert [name for name, _ in command.assignments] == ["PGPASSWORD", "LANG"]
    assert command.unwrapped()[0] == "pg_dump"


def test_arrays_and_arithmetic_do_not_break_the_parse() -> None:
    found = programs("arr=(a b \"c d\")\nx=$(( 1 + 2 ))\n(( x++ ))\nfor ((i=0;i<3;i++)); do "
                     "docker restart web; done\n")
    assert (4, "docker") in found


def test_compound_commands_and_keywords() -> None:
    text = """\
    if ! docker inspect web >/dev/null 2>&1; then
      docker start web
    elif [[ -n "$x" && $x -gt 1 ]]; then
      :
    fi
    while read -r name; do docker stop "$name"; done < <(docker ps -q)
    case "$1" in
      start|up) docker start db ;;
      (stop) docker stop db ;;
    esac
    deploy() { docker compose up -d; }
    function backup { tar czf /tmp/b.tgz /srv; }
    """
    import textwrap

    found = programs(textwrap.dedent(text))
    assert (1, "docker") in found and (2, "docker") in found
    assert (6, "docker") in found and (8, "docker") in found and (9, "docker") in found
    assert (11, "docker") in found and (12, "tar") in found
    assert not any(name in ("start", "stop", "deploy", "backup", "if", "then", "fi")
                   for _, name in found)


def test_redirections_and_file_descriptors_are_not_arguments() -> None:
    [command] = commands("docker logs web 2>&1 >> /var/log/x.log\n")
    assert command.argv == ["docker", "logs", "web"]
    assert [op for op, _ in command.redirects] == [">&", ">>"]


def test_here_documents() -> None:
    parsed = parse_script("cat <<'EOF' > /etc/x\nPASSWORD=$y\n  EOF\nEOF\ncat <<-END\n\tbody\n"
                          "\tEND\necho after\n")
    first, second = parsed.heredocs
    assert first.quoted and first.body == [(2, "PASSWORD=$y"), (3, "  EOF")] and first.terminated
    assert second.strip_tabs and second.body == [(6, "\tbody")]
    assert (8, "echo") in [(c.line, c.unwrapped()[0]) for c in parsed.commands]


def test_pipeline_across_a_line_break() -> None:
    found = commands("curl -fsSL https://x |\n  sudo -E bash -\n")
    shell = found[-1]
    assert shell.unwrapped() [0] == "bash" and shell.unwrapped()[2] is True
    assert shell.pipe_from is found[0]


def test_line_continuations_keep_the_first_line() -> None:
    found = commands("echo a\ndocker exec \\\n  -it \\\n  web sh\n")
    assert [(c.line, c.argv) for c in found][1] == (2, ["docker", "exec", "-it", "web", "sh"])


@pytest.mark.parametrize("line, program, sudo", [
    ("sudo -u root env A=1 timeout 10 docker ps", "docker", True),
    ("nohup nice -n 10 ionice -c 3 rsync -a a b", "rsync", False),
    ("command -v docker", "docker", False),
    ("exec -a name /usr/bin/curl x", "curl", False),
    ("$DOCKER ps", None, False),
])
def test_wrappers(line: str, program: str | None, sudo: bool) -> None:
    [command] = commands(line + "\n")
    found, _, with_sudo = unwrap(command.words)
    assert (found, with_sudo) == (program, sudo)


def test_commands_handed_to_other_shells() -> None:
    text = ("ssh -p 2222 root@pve \"docker stop a && docker logs --tail 5 b\"\n"
            "bash -c 'docker restart c'\n"
            "pct exec 102 -- docker restart d\n"
            "ssh root@pve <<EOF\ndocker exec e ls\nEOF\n")
    found = {(u.name, u.origin, u.line) for u in uses(text)}
    assert found == {("a", "ssh", 1), ("b", "ssh", 1), ("c", "bash -c", 2), ("d", "pct", 3),
                     ("e", "heredoc", 5)}


def test_substitutions_in_remote_commands_are_not_counted_twice() -> None:
    found = commands('sh -c "$(curl -fsSL https://x)"\n')
    assert [c.unwrapped()[0] for c in found].count("curl") == 1


def test_docker_container_names() -> None:
    text = """\
    docker exec -it -u 0 -e A=1 web-1 sh -c 'echo hi'
    docker logs --tail 100 -f api
    docker stop web -t 5
    docker rm -f one two
    docker container restart three
    docker cp ./x four:/tmp/ && docker cp five:/etc/y ./
    docker inspect --format '{{.Id}}' six
    docker inspect --type image nginx
    docker -H ssh://pve exec seven ls
    docker restart "$C" $(docker ps -q)
    docker run -d --name helper alpine sleep 1
    docker ps --filter name=x
    """
    import textwrap

    found, created = container_uses(commands(textwrap.dedent(text)))
    names = [(u.name, u.verb, u.dynamic) for u in found]
    assert names == [
        ("web-1", "exec", False), ("api", "logs", False), ("web", "stop", False),
        ("one", "rm", False), ("two", "rm", False), ("three", "restart", False),
        ("four", "cp", False), ("five", "cp", False), ("six", "inspect", False),
        ("seven", "exec", False), ("$C", "restart", True),
        ("$(docker ps -q)", "restart", True)]
    assert created == {"helper"}
    assert found[0].command == "docker exec -it -u 0 -e A=1 web-1"
    assert found[5].command == "docker container restart three"


def test_compose_service_names_and_project_hints() -> None:
    text = """\
    docker compose -p monitoring exec grafana ls
    docker compose -f /srv/stacks/paperless/docker-compose.yml logs -f --tail 5 webserver broker
    cd /srv/stacks/nextcloud && docker compose restart app
    docker-compose --project-directory ../media up -d --scale worker=2 jellyfin
    docker compose -p "$STACK" restart web
    docker compose run --rm -e X=1 migrate python manage.py migrate
    """
    import textwrap

    found = uses(textwrap.dedent(text))
    assert [(u.name, u.kind, u.verb) for u in found] == [
        ("grafana", "service", "exec"), ("webserver", "service", "logs"),
        ("broker", "service", "logs"), ("app", "service", "restart"),
        ("jellyfin", "service", "up"), ("web", "service", "restart"),
        ("migrate", "service", "run")]
    assert found[0].project_name == "monitoring"
    assert found[1].project_file == "/srv/stacks/paperless/docker-compose.yml"
    assert found[3].project_dir == "/srv/stacks/nextcloud"
    assert found[4].project_dir == "../media"
    assert found[5].project_name is None         # a variable: the project is unknown


@pytest.mark.parametrize("line, expected", [
    ("#!/bin/bash", ("bash", ())),
    ("#!/usr/bin/env bash", ("bash", ())),
    ("#!/bin/bash -eu", ("bash", ("-eu",))),
    ("#!/usr/bin/env -S bash -e", ("bash", ("-e",))),
    ("#! /bin/sh", ("sh", ())),
    ("#!/usr/bin/python3", ("python3", ())),
    ("echo hi", (None, ())),
])
def test_shebang(line: str, expected) -> None:
    _, shell, flags = parse_shebang(line)
    assert (shell, flags) == expected


def test_the_parser_survives_arbitrary_text() -> None:
    alphabet = list("ab $(){}[]'\"`\\;&|<>\n#=-*?!@:/.01") + [
        "docker ", "exec ", "<<EOF\n", "EOF\n", "$((", "case ", " in ", ";;", "esac", "for ",
        " do ", "done", "if ", "then ", "fi", "[[ ", " ]]", "ssh h ", "bash -c ", "${x:?}",
        "<(", "function ", "\\\n", "a=(", "rm -rf "]
    rnd = random.Random(20251220)
    for _ in range(1500):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 120)))
        parsed = parse_script(text)
        container_uses(parsed.commands)
