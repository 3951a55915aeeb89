"""The pytest plugin, tested the way authors use it: in a separate pytest run."""

import textwrap

import pytest

HELLO = """
def handler(name: str = "World"):
    info("hi", name)
    print("printed", name)
    return {"greeting": "Hello, " + name}
"""


@pytest.fixture
def author(pytester):
    pytester.makefile(
        ".yaml", config="users:\n  - email: a@example.com\n  - email: b@example.com\n"
    )
    functions = pytester.mkdir("functions")
    (functions / "hello.py").write_text(textwrap.dedent(HELLO))
    return pytester


def test_zcrm_fixture_runs_the_authors_project(author):
    author.makepyfile(
        test_author="""
        def test_hello(zcrm):
            result = zcrm.invoke("hello", params={"name": "Ada"})
            assert result.status == 200
            assert result.ok
            assert result.code == "success"
            assert result.output == {"greeting": "Hello, Ada"}
            assert result.user_message == ["hi Ada"]
            assert result.printed == ("printed Ada",)
            assert len(result.version) == 10
            assert result.headers["X-Function-Version"] == result.version

        def test_user_and_errors(zcrm):
            result = zcrm.invoke("hello", auth="none")
            assert result.status == 401
            assert result.code == "AUTHENTICATION_FAILURE"
            assert zcrm.invoke("nope").code == "INVALID_URL_PATTERN"
            assert zcrm.invoke("hello", user="b@example.com").invocation.user_id != (
                zcrm.invoke("hello").invocation.user_id
            )

        def test_state_does_not_land_in_the_project(zcrm, request):
            zcrm.invoke("hello")
            assert not (request.config.rootpath / ".emulator").exists()
        """
    )
    result = author.runpytest()
    result.assert_outcomes(passed=3)


def test_a_failing_author_test_fails(author):
    author.makepyfile(
        test_author="""
        def test_wrong(zcrm):
            assert zcrm.invoke("hello").output == {"greeting": "Hello, Nobody"}
        """
    )
    author.runpytest().assert_outcomes(failed=1)


def test_zcrm_temp_builds_throwaway_projects(pytester):
    pytester.makepyfile(
        test_temp="""
        def test_temp(zcrm_temp):
            emulator = zcrm_temp({"double": "def handler(n: int):\\n    return n * 2\\n"})
            assert emulator.invoke("double", params={"n": 21}).output == 42
            bad = emulator.invoke("double", params={"n": "x"})
            assert bad.status == 400 and bad.code == "INVALID_DATA"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_config_option_points_at_another_project(pytester):
    sub = pytester.mkdir("proj")
    (sub / "config.yaml").write_text("")
    (sub / "functions").mkdir()
    (sub / "functions" / "one.py").write_text("def handler():\n    return 1\n")
    pytester.makepyfile(
        test_opt="""
        def test_one(zcrm):
            assert zcrm.invoke("one").output == 1
        """
    )
    pytester.runpytest("--zcrm-config", "proj/config.yaml").assert_outcomes(passed=1)


def test_missing_config_is_a_clear_error(pytester):
    pytester.makepyfile(test_none="def test_x(zcrm):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*config.yaml: no such config file*"])


def test_config_is_found_above_the_tests_folder(author, monkeypatch):
    tests = author.mkdir("tests")
    (tests / "test_inner.py").write_text(
        "def test_inner(zcrm):\n    assert zcrm.invoke('hello').status == 200\n"
    )
    monkeypatch.chdir(tests)
    author.runpytest_subprocess("test_inner.py").assert_outcomes(passed=1)
