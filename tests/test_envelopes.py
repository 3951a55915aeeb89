"""Results to responses, byte for byte (DESIGN 2.4)."""

import pytest
from conftest import execute_url
from werkzeug.test import Client

USER_ID = "4150868000000225013"


def call(write_function, make_app, source, **kwargs):
    write_function("fn", source)
    return Client(make_app()).open(execute_url("fn"), **kwargs)


@pytest.mark.parametrize(
    ("returned", "output"),
    [
        pytest.param('"This is a test"', "This is a test", id="str"),
        pytest.param("None", "", id="none"),
        pytest.param(
            '{"b": [1, 2], "a": "ü"}', '{\\"b\\":[1,2],\\"a\\":\\"ü\\"}', id="dict"
        ),
        pytest.param("[1, 'x', None, True]", '[1,\\"x\\",null,true]', id="list"),
        pytest.param("42", "42", id="int"),
        pytest.param("2.5", "2.5", id="float"),
        pytest.param("True", "true", id="bool"),
        pytest.param("(1, 2)", "[1,2]", id="tuple-as-list"),
    ],
)
def test_plain_value_envelope_is_byte_exact(write_function, make_app, returned, output):
    response = call(
        write_function, make_app, f"def handler():\n    return {returned}\n"
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert response.get_data(as_text=True) == (
        '{"code":"success","details":{"output":"' + output + '","output_type":"string",'
        f'"id":"{USER_ID}"}},"message":"function executed successfully"}}'
    )


def test_info_lines_become_user_message(write_function, make_app):
    source = """
    def handler():
        info("count", 3)
        info({"a": 1}, [1, "x"])
        return "done"
    """
    response = call(write_function, make_app, source)
    assert response.json["details"]["userMessage"] == ["count 3", '{"a":1} [1,"x"]']
    assert response.get_data(as_text=True) == (
        '{"code":"success","details":{"output":"done","output_type":"string",'
        f'"id":"{USER_ID}","userMessage":["count 3","{{\\"a\\":1}} [1,\\"x\\"]"]}},'
        '"message":"function executed successfully"}'
    )


def test_print_goes_to_the_console_not_the_response(write_function, make_app):
    lines = []

    class Collect:
        def invocation(self, record):
            lines.extend(record.printed)

        def note(self, text):
            pass

    write_function("fn", 'def handler():\n    print("to the log", 1)\n    return "x"\n')
    response = Client(make_app(reporter=Collect())).get(execute_url("fn"))
    assert "to the log" not in response.get_data(as_text=True)
    assert lines == ["to the log 1"]


def test_custom_response_status_headers_and_json_body(write_function, make_app):
    source = """
    def handler():
        return {"crmAPIResponse": {
            "status_code": 201,
            "headers": {"Location": "/x/1", "X-Count": 2},
            "body": {"id": "1", "name": "ü"},
        }}
    """
    response = call(write_function, make_app, source)
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    assert response.headers["Location"] == "/x/1"
    assert response.headers["X-Count"] == "2"
    assert response.get_data(as_text=True) == '{"id":"1","name":"ü"}'


def test_custom_response_str_body_and_content_type(write_function, make_app):
    source = """
    def handler():
        return {"crmAPIResponse": {"Content-Type": "application/text", "body": "hi"}}
    """
    response = call(write_function, make_app, source)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/text"
    assert response.get_data() == b"hi"


def test_custom_response_204_has_no_body(write_function, make_app):
    source = 'def handler():\n    return {"crmAPIResponse": {"status_code": 204, "body": "x"}}\n'
    response = call(write_function, make_app, source)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers


def test_custom_response_without_body_is_empty(write_function, make_app):
    source = 'def handler():\n    return {"crmAPIResponse": {"status_code": 202}}\n'
    response = call(write_function, make_app, source)
    assert response.status_code == 202
    assert response.get_data() == b""


def test_custom_response_with_bad_status(write_function, make_app):
    source = 'def handler():\n    return {"crmAPIResponse": {"status_code": 99}}\n'
    response = call(write_function, make_app, source)
    assert response.status_code == 500
    assert response.json == {
        "code": "FUNCTION_EXECUTION_ERROR",
        "details": {},
        "message": "the function returned an invalid crmAPIResponse: status_code must be "
        "an HTTP status from 100 to 599; found 99. See README, 'Controlling the response'.",
        "status": "error",
    }


def test_a_dict_with_a_non_map_crm_api_response_is_a_plain_value(
    write_function, make_app
):
    source = 'def handler():\n    return {"crmAPIResponse": "no"}\n'
    response = call(write_function, make_app, source)
    assert response.status_code == 200
    assert response.json["details"]["output"] == '{"crmAPIResponse":"no"}'


def test_unreturnable_value(write_function, make_app):
    source = "def handler():\n    return object()\n"
    response = call(write_function, make_app, source)
    assert response.status_code == 500
    assert response.json["code"] == "FUNCTION_EXECUTION_ERROR"
    assert response.json["message"] == (
        "TypeError: cannot return a value of type object; return a str, number, bool, "
        "None, dict or list (convert it with str() or a dict of its fields) (functions/fn.py)"
    )
