"""crmAPIRequest as DESIGN 2.2 describes it, seen from inside a function."""

import io
import json

import pytest
from conftest import DEMO_KEY, execute_url
from werkzeug.test import Client

ECHO = """
def handler(crmAPIRequest):
    return crmAPIRequest
"""


@pytest.fixture
def echo(write_function, make_app):
    write_function("echo", ECHO)
    client = Client(make_app())

    def call(params=None, **kwargs):
        response = client.open(execute_url("echo", params), **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        return json.loads(response.json["details"]["output"])

    return call


def test_get_without_body(echo):
    request = echo({"name": "Ada"})
    assert request["params"] == {"name": "Ada"}
    assert request["body"] == ""
    assert request["method"] == "GET"
    assert request["auth_type"] == "apikey"
    assert request["record"] == {}
    assert request["file_content"] is None
    assert sorted(request) == sorted(
        [
            "params",
            "body",
            "headers",
            "method",
            "auth_type",
            "user_info",
            "record",
            "file_content",
        ]
    )


def test_auth_params_are_removed_from_params(echo):
    request = echo({"x": "1"})
    assert "auth_type" not in request["params"]
    assert "zapikey" not in request["params"]
    assert DEMO_KEY not in json.dumps(request)


def test_json_body_is_byte_exact_and_not_parsed_into_params(echo):
    raw = '{ "b": 1,\n  "a": "ü" }'
    request = echo(method="POST", data=raw.encode(), content_type="application/json")
    assert request["body"] == raw
    assert request["params"] == {}
    assert request["headers"]["content-type"] == "application/json"


def test_raw_text_body(echo):
    request = echo(
        method="POST", data=b"plain text\r\nline 2", content_type="text/plain"
    )
    assert request["body"] == "plain text\r\nline 2"


def test_form_fields_join_params_and_win_on_a_clash(echo):
    request = echo(
        {"a": "query", "q": "only-query"},
        method="POST",
        data={"a": "form", "f": "only-form"},
    )
    assert request["params"] == {"a": "form", "q": "only-query", "f": "only-form"}
    assert request["body"] == "a=form&f=only-form"


def test_repeated_query_params(write_function, make_app):
    write_function("echo", ECHO)
    client = Client(make_app())
    response = client.get(execute_url("echo") + "&x=1&x=2&x=3")
    assert json.loads(response.json["details"]["output"])["params"] == {"x": "3"}
    response = client.post(
        execute_url("echo") + "&x=q",
        data="x=1&x=2&y=3",
        content_type="application/x-www-form-urlencoded",
    )
    assert json.loads(response.json["details"]["output"])["params"] == {
        "x": "2",
        "y": "3",
    }


def test_multipart_fields_and_input_file(echo):
    request = echo(
        method="POST",
        data={
            "note": "hi",
            "inputFile": (io.BytesIO("name,city\nAda,Zürich\n".encode()), "leads.csv"),
        },
        content_type="multipart/form-data",
    )
    assert request["params"] == {"note": "hi"}
    assert request["file_content"] == "name,city\nAda,Zürich\n"
    assert "Zürich" in request["body"]
    assert request["body"].rstrip().endswith("--")  # the whole multipart payload


def test_other_file_parts_are_not_file_content(echo):
    request = echo(
        method="POST",
        data={"other": (io.BytesIO(b"x"), "x.txt")},
        content_type="multipart/form-data",
    )
    assert request["file_content"] is None
    assert request["params"] == {}


def test_unicode_in_params_and_body(echo):
    request = echo({"city": "Zürich 東京 🚀"}, method="POST", data="ä€𝄞".encode())
    assert request["params"]["city"] == "Zürich 東京 🚀"
    assert request["body"] == "ä€𝄞"


def test_body_that_is_not_utf8_keeps_every_byte(echo):
    raw = bytes(range(256))
    request = echo(method="POST", data=raw, content_type="application/octet-stream")
    assert request["body"].encode("latin-1") == raw


def test_body_in_declared_charset(echo):
    raw = "café".encode("utf-16")
    request = echo(method="POST", data=raw, content_type="text/plain; charset=utf-16")
    assert request["body"] == "café"


def test_headers_are_lower_cased_and_repeats_joined(echo):
    request = echo(
        headers=[("X-Hub-Signature", "abc"), ("X-Multi", "1"), ("X-Multi", "2")]
    )
    assert request["headers"]["x-hub-signature"] == "abc"
    assert request["headers"]["x-multi"] == "1, 2"
    assert all(name == name.lower() for name in request["headers"])


def test_user_info_is_the_key_owner(echo):
    user = echo()["user_info"]
    assert user == {
        "id": "4150868000000225013",
        "zuid": "4150868000000225013",
        "email": "admin@example.com",
        "first_name": "Ada",
        "last_name": "Admin",
        "full_name": "Ada Admin",
        "role": {"name": "CEO"},
        "profile": {"name": "Administrator"},
        "org": {"id": "4150868000000000001", "name": "Emulated Org"},
    }


def test_each_call_gets_a_fresh_map(write_function, make_app):
    write_function(
        "mutate",
        """
        def handler(crmAPIRequest):
            seen = crmAPIRequest["params"].get("mark", "none")
            crmAPIRequest["params"]["mark"] = "set"
            return seen
        """,
    )
    client = Client(make_app())
    outputs = [
        client.get(execute_url("mutate")).json["details"]["output"] for _ in range(2)
    ]
    assert outputs == ["none", "none"]
