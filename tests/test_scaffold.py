import hashlib
import hmac

import pytest

from emulator import scaffold


@pytest.mark.parametrize("template", sorted(scaffold.TEMPLATES))
def test_every_template_compiles(tmp_path, template):
    from emulator.registry import Registry

    scaffold.new_function(tmp_path / "functions", "fn", template)
    [script] = Registry(tmp_path / "functions", tmp_path, "handler").load_all()
    assert script.ok, script.problems


def test_plain_template_runs_as_written(zcrm_temp):
    source = scaffold.PLAIN.format(name="greet")
    result = zcrm_temp({"greet": source}).invoke("greet", params={"name": "Ada"})
    assert result.output == {"message": "Hello, Ada!"}
    assert result.user_message == ["called with name Ada"]


def test_signed_json_template_checks_the_signature(zcrm_temp):
    emulator = zcrm_temp({"hook": scaffold.SIGNED_JSON.format(name="hook")})
    body = '{"type": "lead.created"}'
    good = hmac.new(b"change-me", body.encode(), hashlib.sha256).hexdigest()
    result = emulator.invoke("hook", body=body, headers={"X-Signature": good})
    assert result.output == {"received": {"type": "lead.created"}}
    bad = emulator.invoke("hook", body=body, headers={"X-Signature": "0" * 64})
    assert (bad.status, bad.output) == (401, {"error": "bad signature"})


def test_response_template_answers_201_and_400(zcrm_temp):
    emulator = zcrm_temp({"make": scaffold.RESPONSE.format(name="make")})
    made = emulator.invoke("make", params={"name": "x"})
    assert (made.status, made.headers["X-Created-By"], made.output) == (
        201, "make", {"created": "x"}
    )  # fmt: skip
    assert emulator.invoke("make").status == 400


def test_init_example_test_matches_the_hello_template(tmp_path):
    paths = scaffold.init_project(tmp_path)
    assert [p.name for p in paths] == ["config.yaml", "hello.py", "test_hello.py"]
    assert "Hello, Ada!" in paths[2].read_text()
