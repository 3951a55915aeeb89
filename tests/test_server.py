"""End to end: the real server process on a free port, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_support import ROOT, Server

SAMPLE_KEY = "1003.2bbe5f377ea06af5103a21520c1264a7.7efeb069f3bcc541edcb1184592920df"


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[Server]:
    shutil.copytree(ROOT / "functions", tmp_path / "functions")
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    server = Server(tmp_path)
    yield server
    server.stop()


def url(name: str, query: str = "") -> str:
    path = f"/crm/v2/functions/{name}/actions/execute?auth_type=apikey&zapikey={SAMPLE_KEY}"
    return path + query


def test_banner_lists_functions_urls_and_a_ready_curl_line(sample):
    text = "".join(sample.banner)
    for name in ("add_numbers", "create_lead", "echo_body", "hello"):
        assert f"{sample.base}/crm/v2/functions/{name}/actions/execute" in text
    assert f"API key: {SAMPLE_KEY}" in text
    assert f"curl '{sample.base}{url('hello')}'" in text


def test_sample_functions_answer_with_exact_envelopes(sample):
    user = "4150868000000225013"
    status, headers, body = sample.call(url("hello", "&name=Ada"))
    assert status == 200
    assert headers["Content-Type"] == "application/json;charset=UTF-8"
    assert body.decode() == (
        '{"code":"success","details":{"output":"Hello, Ada!","output_type":"string",'
        f'"id":"{user}","userMessage":["greeting Ada"]}},'
        '"message":"function executed successfully"}'
    )
    status, _, body = sample.call(url("add_numbers", "&a=2&b=3"))
    assert body.decode() == (
        '{"code":"success","details":{"output":"{\\"a\\":2,\\"b\\":3,\\"sum\\":5}",'
        f'"output_type":"string","id":"{user}"}},"message":"function executed successfully"}}'
    )
    status, headers, body = sample.call(
        url("create_lead"),
        b'{"Last_Name":"Lovelace"}',
        {"Content-Type": "application/json"},
    )
    assert status == 201
    assert headers["Location"] == "/crm/v8/Leads/4150868000001234567"
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert body == b'{"data":[{"id":"4150868000001234567","Last_Name":"Lovelace"}]}'
    status, _, body = sample.call(
        url("echo_body", "&x=1"),
        b'{"a":"\xc3\xbc"}',
        {"Content-Type": "application/json"},
    )
    output = json.loads(json.loads(body)["details"]["output"])
    assert output["json"] == {"a": "ü"}
    assert output["params"] == {"x": "1"}


def test_errors_over_http_are_json_envelopes(sample):
    status, headers, body = sample.call(
        "/crm/v2/functions/nope/actions/execute?auth_type=apikey"
    )
    assert status == 401
    assert json.loads(body)["code"] == "INVALID_API_KEY"
    status, headers, body = sample.call("/nothing/here")
    assert (status, json.loads(body)["code"]) == (404, "INVALID_URL_PATTERN")
    assert headers["Content-Type"] == "application/json;charset=UTF-8"


def test_console_shows_calls_and_never_the_key(sample):
    sample.call(url("hello", "&name=Ada"))
    sample.call("/other?zapikey=" + SAMPLE_KEY)
    log = sample.stop()
    after_banner = log.split("Ctrl-C stops it.", 1)[1]
    assert "GET hello -> 200 success [apikey]" in after_banner
    assert "info: greeting Ada" in after_banner
    assert SAMPLE_KEY not in after_banner
    assert "zapikey=1003.2bbe…20df" in after_banner


def test_first_start_without_seeded_key_creates_and_prints_one(tmp_path):
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "hello.py").write_text(
        "def handler():\n    return 'hi'\n"
    )
    (tmp_path / "config.yaml").write_text("")
    server = Server(tmp_path)
    try:
        text = "".join(server.banner)
        key = re.search(r"API key: (1003\.[0-9a-f]{32}\.[0-9a-f]{32})\n", text).group(1)
        status, _, body = server.call(
            f"/crm/v2/functions/hello/actions/execute?auth_type=apikey&zapikey={key}"
        )
    finally:
        server.stop()
    assert (status, json.loads(body)["details"]["output"]) == (200, "hi")
    again = Server(tmp_path)
    second = "".join(again.banner)
    again.stop()
    assert key not in second
    assert "secret shown when it was created" in second
    assert "Try it" not in second  # no curl line with a masked key in it


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def test_several_processes_share_the_port_and_the_store(tmp_path):
    shutil.copytree(ROOT / "functions", tmp_path / "functions")
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    server = Server(tmp_path, "--processes", "2")
    try:
        processes = wait_for_children(server.process.pid, 2)
        created = subprocess.run(
            [sys.executable, "-m", "emulator", "keys", "create"], cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        )  # fmt: skip
        key = re.search(r"1003\.[0-9a-f]{32}\.[0-9a-f]{32}", created.stdout).group(0)
        path = f"/crm/v2/functions/hello/actions/execute?auth_type=apikey&zapikey={key}"
        answers = [server.call(path + f"&name=n{i}") for i in range(12)]
        # Each process has the key in its cache now; the CLI revokes it.
        renewed = subprocess.run(
            [sys.executable, "-m", "emulator", "keys", "regenerate"], cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        )  # fmt: skip
        new = re.search(r"1003\.[0-9a-f]{32}\.[0-9a-f]{32}", renewed.stdout).group(0)
        refused = [server.call(path + f"&name=r{i}") for i in range(12)]
        accepted = [server.call(path.replace(key, new)) for i in range(4)]
    finally:
        log = server.stop()
    assert len(processes) == 2
    assert {status for status, _, _ in answers} == {200}
    assert {status for status, _, _ in refused} == {401}
    assert {status for status, _, _ in accepted} == {200}
    assert "2 server processes share" in log
    assert not any(Path(f"/proc/{pid}").exists() for pid in processes)


def wait_for_children(pid: int, count: int) -> set[int]:
    deadline = time.monotonic() + 30
    while len(found := children_of(pid)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found
