from conftest import execute_url


def test_hello_through_the_stack(write_function, make_app):
    write_function(
        "hello", "def handler(name: str = 'World'):\n    return 'Hi ' + name\n"
    )
    from werkzeug.test import Client

    response = Client(make_app()).get(execute_url("hello", {"name": "Ada"}))
    assert response.status_code == 200
    assert response.json["details"]["output"] == "Hi Ada"
