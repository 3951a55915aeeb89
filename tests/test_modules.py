"""The module allowlist: what each proxy hands out, and the importer."""

from __future__ import annotations

import time
import types

import pytest

from emulator import modules
from emulator.modules import ALLOWED, CATALOG, Importer


def test_the_catalog_has_every_allowed_module() -> None:
    assert set(CATALOG) == ALLOWED | {"urllib"}
    assert modules.exposed_names("urllib") == ["parse"]


def test_proxies_hand_out_public_non_module_names_only() -> None:
    for name in CATALOG:
        for attribute in modules.exposed_names(name):
            assert not attribute.startswith("_")
            if name != "urllib":
                assert not isinstance(
                    getattr(CATALOG[name], attribute), types.ModuleType
                )


def test_mutable_module_values_are_frozen() -> None:
    assert CATALOG["calendar"].mdays == (
        0,
        31,
        28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    )
    assert isinstance(CATALOG["hashlib"].algorithms_available, frozenset)
    assert isinstance(CATALOG["urllib.parse"].uses_netloc, tuple)


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("time", {"time", "monotonic", "strftime", "strptime", "gmtime"}),
        ("typing", {"Any", "Optional", "Union", "List", "Dict"}),
    ],
)
def test_partial_modules_offer_only_their_list(module: str, names: set[str]) -> None:
    exposed = set(modules.exposed_names(module))
    assert names <= exposed <= modules.RULES[module].only  # type: ignore[operator]
    assert "sleep" not in exposed and "get_type_hints" not in exposed


@pytest.mark.parametrize(
    ("module", "name"),
    [("base64", "main"), ("calendar", "prmonth"), ("uuid", "uuid1"), ("uuid", "getnode"),
     ("zoneinfo", "reset_tzpath"), ("string", "Formatter"),
     ("functools", "singledispatch"), ("functools", "singledispatchmethod")],
)  # fmt: skip
def test_denied_names_are_absent_and_say_why(module: str, name: str) -> None:
    assert name not in modules.exposed_names(module)
    why = modules.RULES[module].deny[name]
    assert modules.missing_name(module, name) == (
        f"{module}.{name} is not available in functions: {why}"
    )


def test_foreign_names_are_left_out() -> None:
    assert "mul" not in modules.exposed_names("statistics")
    assert "namedtuple" not in modules.exposed_names("functools")
    assert "random" in modules.exposed_names("random")
    assert "compare_digest" in modules.exposed_names("hmac")


def test_proxies_are_read_only() -> None:
    proxy = CATALOG["json"]
    with pytest.raises(AttributeError) as caught:
        proxy.loads = None
    assert caught.value.args == ("module 'json' is read-only in functions",)
    assert repr(proxy) == "<module 'json' (sandboxed)>"


def test_functools_wraps_keeps_its_default_attribute_lists() -> None:
    def wrapped() -> None:
        """Doc."""

    @CATALOG["functools"].wraps(wrapped)
    def wrapper() -> None:
        pass

    assert (wrapper.__name__, wrapper.__doc__) == ("wrapped", "Doc.")


def test_the_importer_gives_proxies() -> None:
    load = Importer()
    assert load("json") is CATALOG["json"]
    assert load("urllib.parse") is CATALOG["urllib"]
    assert load("urllib.parse", None, None, ("quote",)) is CATALOG["urllib.parse"]
    assert load("urllib", None, None, ("parse",)) is CATALOG["urllib"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("os",),
            "import of 'os' is not allowed in functions. Functions cannot reach the host's "
            "files, processes or environment. Allowed modules: ",
            id="unknown",
        ),
        pytest.param(
            ("json", None, None, ("decoder",)),
            "cannot import 'decoder' from 'json': module 'json' has no public name",
            id="from-list",
        ),
        pytest.param(
            ("json", None, None, (), 1),
            "relative imports are not available in functions",
            id="relative",
        ),
        pytest.param(
            ("os", None, None, []),
            "import of 'os' is not allowed in functions.",
            id="internal-import-of-another-module",
        ),
    ],
)
def test_the_importer_refuses_with_a_reason(args: tuple, message: str) -> None:
    with pytest.raises(ImportError) as caught:
        Importer()(*args)
    assert caught.value.args[0].startswith(message)


def test_c_code_of_allowed_modules_gets_its_internal_imports() -> None:
    """datetime.strftime imports time; a list fromlist marks such C-level imports."""
    assert Importer()("time", {}, {}, []) is time
    sandboxed = Importer()("time")
    assert repr(sandboxed) == "<module 'time' (sandboxed)>"
    assert sandboxed.time is CATALOG["time"].time


def test_import_statements_are_checked_before_running() -> None:
    assert modules.check_import("json", ["loads"]) is None
    assert modules.check_import("urllib", ["parse"]) is None
    assert modules.check_import("urllib", []) == modules.import_error("urllib")
