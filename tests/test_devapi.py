from conftest import execute_url
from werkzeug.test import Client


def test_functions_lists_each_with_its_load_errors(write_function, make_app):
    write_function("hello", "def handler(name, crmAPIRequest):\n    return 1\n")
    write_function("broken", "def handler(:\n")
    app = make_app()
    response = Client(app).get("/__emulator__/functions")
    assert response.status_code == 200
    broken, hello = response.json["functions"]
    assert hello == {
        "name": "hello", "file": "functions/hello.py", "version": app.registry.get("hello").version,
        "ok": True, "params": ["name", "crmAPIRequest"], "errors": [],
    }  # fmt: skip
    assert broken["ok"] is False
    assert broken["errors"][0]["line"] == 1


def test_invocations_list_and_one_in_full(write_function, make_app):
    write_function("hello", "def handler():\n    print('p')\n    return 'hi'\n")
    client = Client(make_app())
    client.get(execute_url("hello"))
    client.get(execute_url("nope"))
    listing = client.get("/__emulator__/invocations").json["invocations"]
    assert [(i["function"], i["status"]) for i in listing] == [
        ("hello", 200),
        ("nope", 404),
    ]
    assert "request" not in listing[0]
    one = client.get(f"/__emulator__/invocations/{listing[0]['id']}").json
    assert one["printed"] == ["p"]
    assert one["request"]["method"] == "GET"
    only = client.get("/__emulator__/invocations?function=nope&limit=5").json[
        "invocations"
    ]
    assert [i["function"] for i in only] == ["nope"]


def test_devapi_errors_are_envelopes(make_app):
    client = Client(make_app())
    response = client.get("/__emulator__/invocations/999")
    assert response.status_code == 404
    assert response.json == {
        "code": "INVALID_URL_PATTERN",
        "details": {"hint": "GET /__emulator__/invocations lists the recent ones"},
        "message": "no invocation with id 999",
        "status": "error",
    }
    response = client.get("/__emulator__/invocations?limit=many")
    assert response.status_code == 400
    assert response.json["message"] == (
        "the query parameter limit must be a whole number of 0 or more; found 'many'"
    )
