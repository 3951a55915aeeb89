"""`new` and `init`: write a function or a whole project from templates.

Every template passes `zcrm-emulator check` and runs as written (tested).
"""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError
from .registry import API_NAME

PLAIN = """\
# {name}: call it with ...?auth_type=apikey&zapikey=<key>&name=Ada


def handler(name: str = "World"):
    info("called with name", name)
    return {{"message": f"Hello, {{name}}!"}}
"""

SIGNED_JSON = """\
# {name}: accepts a JSON body signed with HMAC-SHA256 (a webhook, say).
# The sender puts hex(HMAC_SHA256(SECRET, raw body)) in the X-Signature header.
import hashlib
import hmac
import json

SECRET = b"change-me"  # the shared secret agreed with the sender


def handler(crmAPIRequest):
    body = crmAPIRequest["body"]
    sent = crmAPIRequest["headers"].get("x-signature", "")
    expected = hmac.new(SECRET, body.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sent, expected):
        return {{"crmAPIResponse": {{"status_code": 401, "body": {{"error": "bad signature"}}}}}}
    try:
        event = json.loads(body)
    except ValueError:
        return {{"crmAPIResponse": {{"status_code": 400, "body": {{"error": "body is not JSON"}}}}}}
    info("event", event.get("type", "unknown"))
    return {{"received": event}}
"""

RESPONSE = """\
# {name}: answers with its own status, headers and body through crmAPIResponse.


def handler(crmAPIRequest):
    name = crmAPIRequest["params"].get("name")
    if not name:
        return {{
            "crmAPIResponse": {{
                "status_code": 400,
                "body": {{"error": "pass ?name=..."}},
            }}
        }}
    return {{
        "crmAPIResponse": {{
            "status_code": 201,
            "Content-Type": "application/json;charset=utf-8",
            "headers": {{"X-Created-By": "{name}"}},
            "body": {{"created": name}},
        }}
    }}
"""

TEMPLATES = {"plain": PLAIN, "signed-json": SIGNED_JSON, "response": RESPONSE}

CONFIG = """\
# zcrm-emulator project configuration. Every key is optional; the full
# reference with defaults is in the zcrm-emulator README (docs/config.md).
functions_dir: functions
server:
  host: 127.0.0.1
  port: 8000
org:
  name: My Org
users:
  - email: admin@example.com
    first_name: Ada
    last_name: Admin
# No api_keys here: the first 'zcrm-emulator serve' creates one and prints it.
"""

EXAMPLE_TEST = """\
# Run with: pytest   (the zcrm-emulator plugin provides the `zcrm` fixture)


def test_hello_greets_by_name(zcrm):
    result = zcrm.invoke("hello", params={"name": "Ada"})
    assert result.status == 200
    assert result.output == {"message": "Hello, Ada!"}
    assert result.user_message == ["called with name Ada"]


def test_hello_has_a_default(zcrm):
    assert zcrm.invoke("hello").output == {"message": "Hello, World!"}
"""


def new_function(folder: Path, name: str, template: str) -> Path:
    """Write `folder/<name>.py` from a template; never overwrite."""
    if not API_NAME.match(name):
        raise UsageError(
            f"'{name}' is not a valid function API name; use letters, digits and '_', "
            f"starting with a letter (for example lead_sync)."
        )
    path = folder / f"{name}.py"
    if path.exists():
        raise UsageError(f"{path} already exists; pick another name or edit that file.")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATES[template].format(name=name), encoding="utf-8")
    return path


def init_project(root: Path) -> list[Path]:
    """A new project: config.yaml, functions/hello.py and tests/test_hello.py."""
    config = root / "config.yaml"
    if config.exists():
        raise UsageError(
            f"{config} already exists; this folder is a project already. "
            f"Use 'zcrm-emulator new NAME' to add a function."
        )
    root.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG, encoding="utf-8")
    hello = new_function(root / "functions", "hello", "plain")
    tests = root / "tests"
    tests.mkdir(exist_ok=True)
    example = tests / "test_hello.py"
    if not example.exists():
        example.write_text(EXAMPLE_TEST, encoding="utf-8")
    return [config, hello, example]
