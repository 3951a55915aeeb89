import json
import re
import socket

import pytest
from conftest import DEMO_KEY, write_config

from emulator.cli import main

SHAPE = re.compile(r"1003\.[0-9a-f]{32}\.[0-9a-f]{32}")


@pytest.fixture
def cli(runner, project, monkeypatch):
    monkeypatch.chdir(project)

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_check_ok(cli, write_function):
    write_function("hello", "def handler():\n    return 1\n")
    result = cli("check")
    assert result.exit_code == 0
    assert result.output.endswith("1 functions, 0 with errors\n")
    assert result.output.startswith("ok     functions/hello.py (v")


def test_check_prints_every_error_and_exits_1(cli, write_function):
    write_function("hello", "def handler():\n    return 1\n")
    write_function("broken", "def handler():\n    _a = 1\n    _b = 2\n")
    result = cli("check")
    assert result.exit_code == 1
    assert (
        'functions/broken.py:2: "_a" is an invalid variable name because it starts with "_"'
        in result.output
    )
    assert (
        'functions/broken.py:3: "_b" is an invalid variable name because it starts with "_"'
        in result.output
    )
    assert result.output.endswith("2 functions, 1 with errors\n")


def test_config_mistake_is_a_message_not_a_traceback(cli, project):
    (project / "config.yaml").write_text("server:\n  port: high\n")
    result = cli("check")
    assert result.exit_code == 1
    assert result.output == (
        "Error: config.yaml: server.port: expected a port 1-65535; found 'high'. "
        "Set server.port to a port 1-65535 in config.yaml.\n"
    )


def test_missing_config_file(cli):
    result = cli("check", "--config", "elsewhere.yaml")
    assert result.exit_code == 1
    assert "elsewhere.yaml: no such config file." in result.output
    assert "Traceback" not in result.output


def test_keys_create_list_revoke_regenerate(cli):
    created = cli("keys", "create", "--label", "ci")
    assert created.exit_code == 0
    assert created.output.startswith(
        "API key for Ada Admin <admin@example.com> (shown once, keep it):\n"
    )
    secret = SHAPE.search(created.output).group(0)
    listing = cli("keys", "list").output
    assert f"{secret[:9]}…{secret[-4:]}" in listing
    assert secret not in listing
    assert "config.yaml" in listing  # the seeded key
    revoked = cli("keys", "revoke", "2")
    assert revoked.output == f"revoked key 2 ({secret[:9]}…{secret[-4:]})\n"
    assert "revoked" in cli("keys", "list").output.splitlines()[2]
    again = cli("keys", "revoke", "2")
    assert again.exit_code == 1
    assert "is already revoked" in again.output
    regenerated = cli("keys", "regenerate")
    assert SHAPE.search(regenerated.output).group(0) not in (secret, DEMO_KEY)


def test_keys_for_an_unknown_user(cli):
    result = cli("keys", "create", "--user", "eve@example.com")
    assert result.exit_code == 1
    assert result.output == (
        "Error: unknown user 'eve@example.com'; the emulated users are: "
        "admin@example.com. Use one of them, or add the user under 'users' in "
        "config.yaml.\n"
    )


def test_keys_create_for_a_named_user(cli, project):
    write_config(
        project,
        {
            "users": [
                {"email": "a@example.com"},
                {"email": "b@example.com", "first_name": "Bo"},
            ]
        },
    )
    result = cli("keys", "create", "--user", "b@example.com")
    assert result.output.startswith(
        "API key for Bo <b@example.com> (shown once, keep it):"
    )


def test_serve_refuses_a_busy_port(cli):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("serve", "--port", str(port))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot listen on 127.0.0.1:{port}: the port is in use or the address "
        "is not local. Pass --port N, or set server.port in config.yaml.\n"
    )


def test_invoke_prints_the_response_and_exits_0(cli, write_function):
    write_function(
        "hello", "def handler(name):\n    print('saw', name)\n    return 'Hi ' + name\n"
    )
    result = cli("invoke", "hello", "-p", "name=Ada")
    assert result.exit_code == 0
    assert '"output":"Hi Ada"' in result.stdout
    assert result.stderr == "HTTP 200\nprint: saw Ada\n"


def test_invoke_exits_1_on_an_error_status(cli, write_function):
    write_function("fails", "def handler():\n    raise ValueError('bad')\n")
    result = cli("invoke", "fails")
    assert result.exit_code == 1
    assert '"code":"FUNCTION_EXECUTION_ERROR"' in result.stdout


def test_invoke_sends_json_body_headers_and_files(cli, write_function, project):
    write_function(
        "echo",
        "def handler(crmAPIRequest):\n"
        "    r = crmAPIRequest\n"
        "    return [r['method'], r['body'], r['headers'].get('x-a'), r['file_content']]\n",
    )
    (project / "body.json").write_text('{"a": 1}')
    result = cli("invoke", "echo", "--json", "body.json", "-H", "X-A: yes")
    assert (
        '"output":"[\\"POST\\",\\"{\\\\\\"a\\\\\\": 1}\\",\\"yes\\",null]"'
        in result.stdout
    )
    (project / "in.txt").write_text("file text")
    result = cli("invoke", "echo", "--file", "in.txt")
    assert "file text" in result.stdout
    result = cli("invoke", "echo", "--body", "raw", "-X", "post")
    assert '\\"raw\\"' in result.stdout


def test_invoke_bad_options_say_what_is_wrong(cli, write_function, project):
    write_function("hello", "def handler():\n    return 1\n")
    result = cli("invoke", "hello", "-p", "novalue")
    assert result.exit_code == 2
    assert (
        "Invalid value for --param: expected NAME=VALUE; found 'novalue'"
        in result.output
    )
    (project / "bad.json").write_text("{nope")
    result = cli("invoke", "hello", "--json", "bad.json")
    assert (
        "Invalid value for --json: not valid JSON: Expecting property name"
        in result.output
    )


def test_invoke_leaves_no_key_behind(cli, write_function, project):
    write_function("hello", "def handler():\n    return 1\n")
    cli("invoke", "hello")
    assert len(cli("keys", "list").output.splitlines()) == 2  # header + the seeded key


def test_logs_show_recent_calls_and_json(cli, write_function):
    write_function("hello", "def handler():\n    info('i')\n    return 1\n")
    cli("invoke", "hello")
    cli("invoke", "nope")
    lines = cli("logs").output.splitlines()
    assert lines[0].endswith(
        "GET hello -> 200 success [apikey] " + lines[0].split("] ")[1]
    )
    assert lines[1] == "    info: i"
    assert "GET nope -> 404 INVALID_URL_PATTERN" in lines[2]
    only = cli("logs", "hello", "--json").output.splitlines()
    assert len(only) == 1 and '"function": "hello"' in only[0]


def test_new_writes_each_template_once(cli, project):
    result = cli("new", "lead_sync", "--template", "signed-json")
    assert result.output == f"wrote {project / 'functions' / 'lead_sync.py'}\n"
    again = cli("new", "lead_sync")
    assert again.exit_code == 1
    assert again.output == (
        f"Error: {project / 'functions' / 'lead_sync.py'} already exists; pick another "
        "name or edit that file.\n"
    )
    bad = cli("new", "lead-sync")
    assert bad.output == (
        "Error: 'lead-sync' is not a valid function API name; use letters, digits and "
        "'_', starting with a letter (for example lead_sync).\n"
    )


def test_init_makes_a_project_that_checks_and_serves(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["init", "proj"])
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == (
        "next: cd proj && zcrm-emulator serve    (and: pytest, to run the example test)"
    )
    assert runner.invoke(main, ["check", "--config", "proj/config.yaml"]).exit_code == 0
    again = runner.invoke(main, ["init", "proj"])
    assert again.exit_code == 1
    assert "already exists; this folder is a project already" in again.output


def test_invoke_json_file_is_sent_byte_for_byte(cli, write_function, project):
    write_function(
        "raw", "def handler(crmAPIRequest):\n    return crmAPIRequest['body']\n"
    )
    text = '{"b" :2,   "a":"\\u00fc"}\n'
    (project / "event.json").write_text(text)
    result = cli("invoke", "raw", "--json", "event.json")
    assert json.loads(result.stdout)["details"]["output"] == text
    assert result.stderr.startswith("HTTP 200\n")
