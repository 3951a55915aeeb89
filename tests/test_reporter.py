from emulator.reporter import Invocation, LineReporter, format_invocation

CALL = Invocation(
    at=0.0, method="POST", function="hello", status=500, auth_type="apikey", user_id="u",
    duration_ms=1.25, version="abc", code="FUNCTION_EXECUTION_ERROR", message="boom",
    info=("i",), printed=("p",), request={"params": {"a": "1"}, "body": "b", "headers": {}},
    response="{}",
)  # fmt: skip


def test_plain_lines():
    assert format_invocation(CALL) == [
        "POST hello -> 500 FUNCTION_EXECUTION_ERROR [apikey] 1.2ms vabc",
        "    error: boom",
        "    info: i",
        "    print: p",
    ]


def test_colour_only_when_asked():
    coloured = format_invocation(CALL, color=True)
    assert "\x1b[31m" in coloured[0]
    assert all("\x1b" not in line for line in format_invocation(CALL))


def test_verbose_adds_params_body_and_response():
    assert format_invocation(CALL, verbose=True)[-3:] == [
        '    params: {"a": "1"}',
        "    body: b",
        "    response: {}",
    ]


def test_quiet_shows_notes_only():
    lines = []
    reporter = LineReporter(lines.append, verbosity=0)
    reporter.invocation(CALL)
    reporter.note("reloaded")
    assert lines == ["reloaded"]
