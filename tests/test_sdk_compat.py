"""What Zoho's Python SDK (zohocrmsdk8-0) really sends, accepted without the SDK:
`arguments` as Python's str(dict), and "execute by file" as url-encoded
`inputFile` fields, one per line of the file."""

from __future__ import annotations

import io
import json

from conftest import execute_url
from werkzeug.test import Client

ECHO = (
    "def handler(crmAPIRequest, name: str = '', n: int = 0):\n"
    "    return {'name': name, 'n': n, 'file': crmAPIRequest['file_content']}\n"
)


def output(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.json["details"]["output"])


def test_arguments_as_python_literal_are_bound(write_function, make_app):
    write_function("echo", ECHO)
    client = Client(make_app())
    url = execute_url("echo", {"arguments": "{'name': 'Ada', 'n': 3}"})
    assert output(client.get(url)) == {"name": "Ada", "n": 3, "file": None}


def test_arguments_that_are_neither_json_nor_a_literal_are_refused(
    write_function, make_app
):
    write_function("echo", ECHO)
    client = Client(make_app())
    response = client.get(execute_url("echo", {"arguments": "{name: Ada}"}))
    assert response.status_code == 400
    assert response.json["message"].startswith(
        'the \'arguments\' parameter must be a JSON object such as {"name":"Ada"}; '
        "found '{name: Ada}'"
    )


def test_url_encoded_input_file_lines_become_file_content(write_function, make_app):
    write_function("echo", ECHO)
    client = Client(make_app())
    response = client.post(
        execute_url("echo"),
        data="inputFile=Last_Name%0A&inputFile=Lovelace%0A",
        content_type="application/x-www-form-urlencoded",
    )
    assert output(response)["file"] == "Last_Name\nLovelace\n"


def test_a_multipart_input_file_still_wins(write_function, make_app):
    write_function("echo", ECHO)
    client = Client(make_app())
    response = client.post(
        execute_url("echo"),
        data={"inputFile": (io.BytesIO(b"a,b\n"), "x.csv")},
    )
    assert output(response)["file"] == "a,b\n"
