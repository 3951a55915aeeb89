import datetime as dt

import pytest

from emulator.arguments import bind, coerce
from emulator.errors import BadRequest
from emulator.sandbox import Param


def request(**params):
    return {"params": params, "body": '{"a": "from body"}'}


def test_params_first_then_arguments_json_then_default_else_none():
    params = (
        Param("a", None, False),
        Param("b", None, False),
        Param("c", None, True),
        Param("d", None, False),
    )
    kwargs = bind(
        params, request(a="direct", arguments='{"a": "packed", "b": "packed"}')
    )
    # c keeps the function's own default: it is not passed at all.
    assert kwargs == {"a": "direct", "b": "packed", "d": None}


def test_never_bound_from_the_body():
    assert bind((Param("a", None, False),), request()) == {"a": None}


def test_crm_api_request_gets_the_whole_map_whatever_the_params_say():
    req = request(crmAPIRequest="spoofed")
    assert bind((Param("crmAPIRequest", None, False),), req) == {"crmAPIRequest": req}


@pytest.mark.parametrize(
    ("annotation", "raw", "expected"),
    [
        pytest.param("str", "42", "42", id="str"),
        pytest.param("str", 42, "42", id="str-from-json-number"),
        pytest.param("str", {"a": 1}, '{"a":1}', id="str-from-json-object"),
        pytest.param("int", " 42 ", 42, id="int"),
        pytest.param("int", 42.0, 42, id="int-from-whole-float"),
        pytest.param("float", "4.5", 4.5, id="float"),
        pytest.param("bool", "TRUE", True, id="bool-true"),
        pytest.param("bool", "0", False, id="bool-zero"),
        pytest.param("bool", False, False, id="bool-json"),
        pytest.param("dict", '{"a": [1]}', {"a": [1]}, id="dict-from-text"),
        pytest.param("dict", {"a": 1}, {"a": 1}, id="dict-from-json"),
        pytest.param("list", "[1, 2]", [1, 2], id="list"),
        pytest.param("date", "2026-12-04", dt.date(2026, 12, 4), id="date"),
        pytest.param(
            "datetime",
            "2026-12-04T09:30:00Z",
            dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC),
            id="datetime-z",
        ),
        pytest.param(None, "as is", "as is", id="unannotated"),
        pytest.param("Lead", "as is", "as is", id="unknown-annotation"),
    ],
)
def test_coercion(annotation, raw, expected):
    assert coerce(Param("x", annotation, False), raw) == expected


@pytest.mark.parametrize(
    ("annotation", "raw", "message"),
    [
        pytest.param(
            "int",
            "abc",
            "argument 'x' expects int (a whole number such as 42); found 'abc'. "
            "Send a value of that type, or change the annotation.",
            id="int",
        ),
        pytest.param(
            "int",
            "4.5",
            "argument 'x' expects int (a whole number such as 42); found '4.5'. "
            "Send a value of that type, or change the annotation.",
            id="int-from-fraction",
        ),
        pytest.param(
            "bool",
            "maybe",
            "argument 'x' expects bool (true or false); found 'maybe'. "
            "Send a value of that type, or change the annotation.",
            id="bool",
        ),
        pytest.param(
            "dict",
            "[1]",
            "argument 'x' expects dict (a JSON object such as {\"a\":1}); found '[1]'. "
            "Send a value of that type, or change the annotation.",
            id="dict-given-list",
        ),
        pytest.param(
            "date",
            "04/12/2026",
            "argument 'x' expects date (a date such as 2026-12-04); found '04/12/2026'. "
            "Send a value of that type, or change the annotation.",
            id="date",
        ),
        pytest.param(
            "float",
            True,
            "argument 'x' expects float (a number such as 4.2); found 'true'. "
            "Send a value of that type, or change the annotation.",
            id="float-given-bool",
        ),
    ],
)
def test_uncoercible_value_names_argument_value_and_type(annotation, raw, message):
    with pytest.raises(BadRequest) as caught:
        coerce(Param("x", annotation, False), raw)
    assert caught.value.message == message
    assert caught.value.status == 400
    assert caught.value.details["argument"] == "x"
    assert caught.value.details["type"] == annotation


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            "{oops",
            'the \'arguments\' parameter must be a JSON object such as {"name":"Ada"}; '
            "found '{oops' (Expecting property name enclosed in double quotes: line 1 "
            "column 2 (char 1)). Fix its JSON text.",
            id="not-json",
        ),
        pytest.param(
            "[1, 2]",
            'the \'arguments\' parameter must be a JSON object such as {"name":"Ada"}; '
            "found '[1, 2]'. Wrap the values in {...}.",
            id="not-an-object",
        ),
    ],
)
def test_bad_arguments_parameter(raw, message):
    with pytest.raises(BadRequest) as caught:
        bind((Param("a", None, False),), request(arguments=raw))
    assert caught.value.message == message


def test_none_passes_through_every_type():
    assert coerce(Param("x", "int", False), None) is None
