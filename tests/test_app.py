"""The execute endpoint: routing, versions and every row of DESIGN 2.1's error table."""

import io

import pytest
from conftest import DEMO_KEY, execute_url, open_files, write_config
from werkzeug.test import Client

from emulator.app import VERSIONS

HELLO = "def handler(name: str = 'World'):\n    return 'Hello, ' + name\n"
NOT_FOUND = {
    "code": "INVALID_URL_PATTERN",
    "message": "Please check if the URL trying to access is a correct one",
    "status": "error",
}
URL_HINT = (
    "functions are served at /crm/v2/functions/<api_name>/actions/execute"
    "?auth_type=apikey&zapikey=<key> (versions v2, v2.1, v3 to v8)"
)


@pytest.fixture
def hello(write_function, make_app):
    write_function("hello", HELLO)
    return Client(make_app())


def envelope(code, message, **details):
    return {"code": code, "details": details, "message": message, "status": "error"}


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_every_supported_version_executes(hello, version):
    response = hello.get(execute_url("hello", {"name": "Ada"}, version=version))
    assert response.status_code == 200
    assert response.json["details"]["output"] == "Hello, Ada"


def test_trailing_slash_is_accepted(hello):
    url = execute_url("hello").replace("/execute?", "/execute/?")
    assert hello.get(url).status_code == 200


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        pytest.param(
            execute_url("nope"),
            "no function named 'nope'; the functions are: hello",
            id="unknown-function",
        ),
        pytest.param(
            execute_url("hello", version="v9"),
            "unknown API version 'v9'; " + URL_HINT,
            id="unknown-version",
        ),
        pytest.param("/", URL_HINT, id="root"),
        pytest.param("/crm/v2/functions/hello", URL_HINT, id="partial-path"),
        pytest.param(
            "/crm/v2/functions/hello/actions/run", URL_HINT, id="other-action"
        ),
    ],
)
def test_unknown_urls_get_invalid_url_pattern(hello, url, hint):
    response = hello.get(url)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert response.json == {**NOT_FOUND, "details": {"hint": hint}}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def test_other_methods_get_invalid_request_method(hello, method):
    response = hello.open(execute_url("hello"), method=method)
    assert response.status_code == 400
    if method != "HEAD":
        assert response.json == envelope(
            "INVALID_REQUEST_METHOD",
            "The http request method type is not a valid one",
            hint=f"call functions with GET or POST, not {method}",
        )


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        pytest.param(
            "",
            "the query parameter auth_type must be apikey or oauth; found no auth_type parameter",
            id="missing",
        ),
        pytest.param(
            "?auth_type=APIKEY",
            "the query parameter auth_type must be apikey or oauth; found 'APIKEY'",
            id="wrong-case",
        ),
        pytest.param(
            "?auth_type=basic",
            "the query parameter auth_type must be apikey or oauth; found 'basic'",
            id="other",
        ),
    ],
)
def test_auth_type_missing_or_unknown(hello, query, hint):
    response = hello.get(f"/crm/v2/functions/hello/actions/execute{query}")
    assert response.status_code == 401
    assert response.json == envelope(
        "AUTHENTICATION_FAILURE", "Authentication failed", hint=hint
    )


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="missing"),
        pytest.param("1003." + "0" * 32 + "." + "0" * 32, id="wrong"),
        pytest.param("garbage", id="malformed"),
    ],
)
def test_missing_or_wrong_api_key(hello, key):
    url = "/crm/v2/functions/hello/actions/execute?auth_type=apikey"
    response = hello.get(url + (f"&zapikey={key}" if key else ""))
    assert response.status_code == 401
    assert response.json["code"] == "INVALID_API_KEY"
    assert response.json["message"] == "invalid api key"
    assert "hint" in response.json["details"]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"headers": {"zapikey": DEMO_KEY}}, id="header"),
        pytest.param({"headers": {"ZAPIKEY": DEMO_KEY}}, id="header-upper-case"),
        pytest.param({"method": "POST", "data": {"zapikey": DEMO_KEY}}, id="form-body"),
    ],
)
def test_key_outside_the_url_is_refused_with_where_it_belongs(hello, kwargs):
    url = "/crm/v2/functions/hello/actions/execute?auth_type=apikey"
    response = hello.open(url, **kwargs)
    assert response.status_code == 401
    assert response.json == envelope(
        "INVALID_API_KEY",
        "the API key must be sent in the URL as the zapikey query parameter, "
        "not in a header or the body",
        hint="call ...?auth_type=apikey&zapikey=<key>",
    )


def test_revoked_key_stops_working_at_once(write_function, make_app):
    write_function("hello", HELLO)
    app = make_app()
    _, secret = app.keys.create(app.config.users[0].id)
    client = Client(app)
    assert client.get(execute_url("hello", key=secret)).status_code == 200
    [key] = [k for k in app.keys.list() if not k.seeded]
    app.keys.revoke(key.id)
    assert (
        client.get(execute_url("hello", key=secret)).json["code"] == "INVALID_API_KEY"
    )


def test_same_key_works_for_every_function(write_function, make_app):
    write_function("one", "def handler():\n    return 1\n")
    write_function("two", "def handler():\n    return 2\n")
    client = Client(make_app())
    assert client.get(execute_url("one")).json["details"]["output"] == "1"
    assert client.get(execute_url("two")).json["details"]["output"] == "2"


def test_rest_toggle_off_answers_not_active(project, write_function, make_app):
    write_config(
        project,
        {
            "api_keys": [{"key": DEMO_KEY}],
            "functions": {"hello": {"rest": {"apikey": False}}},
        },
    )
    write_function("hello", HELLO)
    response = Client(make_app()).get(execute_url("hello"))
    assert response.status_code == 400
    assert response.json == envelope(
        "NOT_ACTIVE",
        "REST API access with API key is not enabled for function 'hello'",
        hint="set functions.hello.rest.apikey: true in config.yaml and restart",
    )


SECRET_MESSAGE = (
    '"_secret" is an invalid variable name because it starts with "_". Names that '
    "start with '_' are reserved for the sandbox; rename it."
)
CLASS_MESSAGE = (
    '"__class__" is an invalid attribute name because it starts with "_". Private '
    "and special attributes (those that start with '_') are not available in "
    "functions."
)


def test_broken_script_answers_load_error_with_every_problem(write_function, make_app):
    write_function(
        "broken",
        "def handler():\n    x = 1\n    _secret = 2\n    return x.__class__\n",
    )
    write_function("hello", HELLO)
    client = Client(make_app())
    response = client.get(execute_url("broken"))
    assert response.status_code == 500
    assert response.json == {
        "code": "FUNCTION_LOAD_ERROR",
        "details": {
            "errors": [
                {
                    "file": "functions/broken.py",
                    "line": 3,
                    "message": SECRET_MESSAGE,
                },
                {
                    "file": "functions/broken.py",
                    "line": 4,
                    "message": CLASS_MESSAGE,
                },
            ]
        },
        "message": "functions/broken.py could not be loaded: functions/broken.py, line 3: "
        f"{SECRET_MESSAGE}; functions/broken.py, line 4: {CLASS_MESSAGE}",
        "status": "error",
    }
    assert client.get(execute_url("hello")).status_code == 200


def test_syntax_error_is_a_load_error_with_its_line(write_function, make_app):
    write_function("broken", "def handler():\n    return (1,\n\n")
    response = Client(make_app()).get(execute_url("broken"))
    assert response.status_code == 500
    [problem] = response.json["details"]["errors"]
    assert problem["line"] == 2
    assert problem["message"].startswith("SyntaxError: '(' was never closed")


def test_missing_entry_point_lists_what_the_script_defines(write_function, make_app):
    write_function("hello", "def main():\n    pass\n\ndef helper():\n    pass\n")
    response = Client(make_app()).get(execute_url("hello"))
    assert response.status_code == 500
    assert response.json["message"] == (
        "functions/hello.py could not be loaded: functions/hello.py: expected a function "
        "named 'handler'; found 'main', 'helper'. Rename it, or set entry_point in "
        "config.yaml."
    )


def test_function_that_raises_gets_type_text_and_line(write_function, make_app):
    source = """
    def handler(crmAPIRequest):
        info("before the failure")
        total = 0
        return 10 / total
    """
    write_function("fails", source)
    response = Client(make_app()).get(execute_url("fails"))
    assert response.status_code == 500
    assert response.json == {
        "code": "FUNCTION_EXECUTION_ERROR",
        "details": {
            "file": "functions/fails.py",
            "line": 5,
            "userMessage": ["before the failure"],
        },
        "message": "ZeroDivisionError: division by zero (functions/fails.py, line 5)",
        "status": "error",
    }
    assert "Traceback" not in response.get_data(as_text=True)


def test_uncoercible_argument_is_a_400(write_function, make_app):
    write_function("typed", "def handler(n: int):\n    return n\n")
    response = Client(make_app()).get(execute_url("typed", {"n": "ten"}))
    assert response.status_code == 400
    assert response.json["code"] == "INVALID_DATA"
    assert response.json["message"] == (
        "argument 'n' expects int (a whole number such as 42); found 'ten'. "
        "Send a value of that type, or change the annotation."
    )


def test_missing_argument_is_none(write_function, make_app):
    write_function("typed", "def handler(n: int):\n    return str(n)\n")
    response = Client(make_app()).get(execute_url("typed"))
    assert response.json["details"]["output"] == "None"


def small_limits(project, **limits):
    write_config(project, {"api_keys": [{"key": DEMO_KEY}], "limits": limits})


def test_request_body_over_the_limit_is_413(project, write_function, make_app):
    small_limits(project, request_bytes=100)
    write_function("hello", HELLO)
    client = Client(make_app())
    expected = envelope(
        "REQUEST_ENTITY_TOO_LARGE",
        "request body too large: the limit is 100 bytes. Send less data, or raise "
        "limits.request_bytes in config.yaml.",
        limit="request_bytes",
        value=100,
    )
    response = client.post(execute_url("hello"), data=b"x" * 101)
    assert (response.status_code, response.json) == (413, expected)
    form = {"f": "x" * 200}
    response = client.post(execute_url("hello"), data=form)
    assert (response.status_code, response.json) == (413, expected)
    assert client.post(execute_url("hello"), data=b"x" * 100).status_code == 200


def test_response_over_the_limit_is_limit_reached(project, write_function, make_app):
    small_limits(project, response_bytes=1000)
    write_function("big", "def handler():\n    info('hi')\n    return 'x' * 2000\n")
    response = Client(make_app()).get(execute_url("big"))
    assert response.status_code == 500
    assert response.json["code"] == "LIMIT_REACHED"
    assert response.json["details"] == {
        "file": "functions/big.py",
        "line": None,
        "limit": "response_bytes",
        "value": 1000,
        "userMessage": ["hi"],
    }
    assert response.json["message"].startswith(
        "response size limit reached: the function returned"
    )


def test_every_execute_response_names_the_code_version(write_function, make_app):
    write_function("hello", HELLO)
    write_function("fails", "def handler():\n    raise ValueError('no')\n")
    app = make_app()
    client = Client(app)
    for name in ("hello", "fails"):
        response = client.get(execute_url(name))
        assert response.headers["X-Function-Version"] == app.registry.get(name).version
    assert "X-Function-Version" not in client.get(execute_url("nope")).headers


def test_a_bug_in_the_emulator_is_an_envelope_not_a_traceback(write_function, make_app):
    class Exploding:
        def run(self, script, kwargs, user_id=None):
            raise RuntimeError("boom")

        def close(self):
            pass

    notes = []

    class Notes:
        def invocation(self, record):
            pass

        def note(self, text):
            notes.append(text)

    write_function("hello", HELLO)
    response = Client(make_app(runner=Exploding(), reporter=Notes())).get(
        execute_url("hello")
    )
    assert response.status_code == 500
    assert response.json == envelope(
        "INTERNAL_ERROR",
        "internal error in the emulator; the console shows the details",
    )
    assert "RuntimeError: boom" in notes[0]


def test_chunked_body_over_the_limit_is_413_not_cut(project, write_function, make_app):
    small_limits(project, request_bytes=100)
    write_function(
        "size", "def handler(crmAPIRequest):\n    return len(crmAPIRequest['body'])\n"
    )
    client = Client(make_app())

    def chunked(size):
        return client.post(
            execute_url("size"),
            input_stream=io.BytesIO(b"x" * size),
            headers={"Transfer-Encoding": "chunked", "Content-Type": "text/plain"},
            environ_overrides={"wsgi.input_terminated": True},
        )

    assert chunked(101).status_code == 413
    assert chunked(5000).json["code"] == "REQUEST_ENTITY_TOO_LARGE"
    exact = chunked(100)
    assert (exact.status_code, exact.json["details"]["output"]) == (200, "100")


def test_a_misnamed_script_gets_a_rename_hint(project, make_app):
    (project / "functions" / "my-fn.py").write_text("def handler():\n    return 1\n")
    response = Client(make_app()).get(execute_url("my-fn"))
    assert response.status_code == 404
    assert response.json["details"]["hint"] == (
        "my-fn.py is not served: 'my-fn' is not a valid API name (letters, digits and "
        "'_', starting with a letter); rename it to my_fn.py"
    )


def test_close_closes_the_databases(project, write_function, make_app):
    write_function("hello", "def handler():\n    return 'hi'\n")
    app = make_app()
    assert Client(app).get(execute_url("hello")).status_code == 200
    app.history.flush()
    state = app.config.state_path
    assert open_files(state) and open_files(state.parent / "history.db")
    app.close()
    assert open_files(state) == open_files(state.parent / "history.db") == 0
