"""The guards, called directly: what they refuse, with which words, and what passes."""

from __future__ import annotations

import decimal
import json
import types
from typing import Any

import pytest

from emulator import guards
from emulator.modules import CATALOG


class Plain:
    def __init__(self) -> None:
        self.name = "plain"


def test_public_attributes_pass() -> None:
    assert guards.guarded_getattr(Plain(), "name") == "plain"
    assert guards.guarded_getattr("abc", "upper")() == "ABC"


@pytest.mark.parametrize(
    ("obj", "name", "message"),
    [
        pytest.param(
            Plain(),
            "__dict__",
            "'__dict__' is private: attributes that start with '_' are not available "
            "in functions",
            id="private",
        ),
        pytest.param(
            (x for x in []),
            "gi_frame",
            "'gi_frame' is blocked in functions: it reaches the interpreter's frames or code",
            id="generator-frame",
        ),
        pytest.param(
            compile("1", "x", "eval"),
            "co_consts",
            "'co_consts' is blocked in functions: it reaches the interpreter's frames or code",
            id="code-object",
        ),
        pytest.param(
            types.SimpleNamespace(inner=json),
            "inner",
            "'inner' is blocked in functions: it is a module or an interpreter object. "
            "Import allowed modules directly instead",
            id="module-value",
        ),
        pytest.param(
            AttributeError("x", name="y", obj=json),
            "obj",
            "'obj' is blocked in functions: it can hand back objects the function may "
            "not see. Use str(error) or error.name instead",
            id="attribute-error-obj",
        ),
    ],
)
def test_refused_attributes(obj: Any, name: str, message: str) -> None:
    with pytest.raises(AttributeError) as caught:
        guards.guarded_getattr(obj, name)
    assert caught.value.args == (message,)


def test_a_missing_attribute_is_a_fresh_error_without_the_object() -> None:
    with pytest.raises(AttributeError) as caught:
        guards.guarded_getattr(Plain(), "missing")
    assert caught.value.args == ("'Plain' object has no attribute 'missing'",)
    assert caught.value.obj is None
    assert caught.value.name == "missing"
    assert guards.guarded_getattr(Plain(), "missing", 5) == 5


def test_attribute_names_must_be_text() -> None:
    with pytest.raises(TypeError) as caught:
        guards.guarded_getattr(Plain(), 3)
    assert caught.value.args == (
        "attribute names must be str; found int. Pass the name as text, as in "
        "getattr(record, 'name').",
    )


def test_hasattr_sees_what_getattr_sees() -> None:
    assert guards.guarded_hasattr(Plain(), "name")
    assert not guards.guarded_hasattr(Plain(), "__class__")
    assert not guards.guarded_hasattr(Plain(), "missing")


class Text(str):
    pass


@pytest.mark.parametrize(
    "obj", ["{0[k]}-{1:>3}", Text("{0[k]}-{1:>3}")], ids=["str", "subclass"]
)
def test_format_methods_are_the_guarded_ones(obj: str) -> None:
    assert guards.guarded_getattr(obj, "format")({"k": "v"}, 7) == "v-  7"
    assert guards.guarded_getattr(str, "format")("{x.real}", x=2) == "2"
    assert guards.guarded_getattr("{a}", "format_map")({"a": 1}) == "1"
    with pytest.raises(AttributeError):
        guards.safe_format("{0.__class__}", 1)


def test_other_methods_pass_unchanged() -> None:
    items: list[int] = []
    assert guards.guarded_getattr(items, "append") == items.append
    assert guards.guarded_getattr(str, "upper") is str.upper
    assert guards.guarded_getattr(Plain, "mro")() == [
        Plain,
        object,
    ]


def test_type_of_a_class_is_the_sandboxs_type() -> None:
    assert guards.safe_type(1) is int
    assert guards.safe_type(int) is guards.safe_type
    with pytest.raises(TypeError):
        guards.safe_type("X", (), {})


def test_writes_are_allowed_to_containers_and_own_classes_only() -> None:
    writes = guards.Writes()
    mine = writes.build_class(lambda: None, "Mine")
    for obj in ({}, [], bytearray(), decimal.Context(), mine(), mine):
        assert writes.guard(obj) is obj
    for obj, kind in ((CATALOG["json"], "module"), (Plain(), "Plain"), (Plain, "type")):
        with pytest.raises(TypeError) as caught:
            writes.guard(obj)
        assert caught.value.args == (
            f"cannot change a {kind} object in a function: only dicts, lists and objects "
            "of classes the function defines can be changed. Make a copy (dict(x), "
            "list(x)) or a class of your own.",
        )


def test_a_class_may_not_derive_from_type() -> None:
    writes = guards.Writes()
    with pytest.raises(TypeError) as caught:
        writes.build_class(lambda: None, "Meta", type)
    assert caught.value.args == (
        "class Meta derives from type: metaclasses are not available in functions. "
        "Derive from object or another ordinary class.",
    )
    assert writes.classes == ()


@pytest.mark.parametrize(
    ("op", "start", "value", "result"),
    [("+=", 1, 2, 3), ("-=", 5, 2, 3), ("*=", [1], 2, [1, 1]), ("//=", 7, 2, 3),
     ("%=", 7, 4, 3), ("**=", 2, 3, 8), ("|=", 1, 2, 3), ("&=", 3, 1, 1),
     ("^=", 3, 1, 2), ("<<=", 1, 2, 4), (">>=", 4, 1, 2), ("/=", 3, 2, 1.5)],
)  # fmt: skip
def test_augmented_assignment_of_names(
    op: str, start: Any, value: Any, result: Any
) -> None:
    assert guards.inplacevar(op, start, value) == result


def test_read_only_copies_containers_deeply() -> None:
    value = {"a": [1, {"b": {2}}], "c": bytearray(b"x")}
    frozen = guards.read_only(value)
    assert isinstance(frozen, types.MappingProxyType)
    assert frozen["a"] == (1, types.MappingProxyType({"b": frozenset({2})}))
    assert frozen["c"] == b"x"
    constant = ("x", 1)
    assert guards.read_only(constant) is constant


class Library:
    """Stands for a class of an allowed module: no USER_CLASS mark."""

    table: dict[str, int] = {"a": 1}  # noqa: RUF012 - the shared state under test

    def __init__(self) -> None:
        self.own = [1]


def test_a_library_class_container_is_read_only_however_it_is_reached() -> None:
    class Sub(Library):
        pass

    for holder in (Library, Library(), Sub, Sub()):
        table = guards.guarded_getattr(holder, "table")
        assert table == {"a": 1}
        assert isinstance(table, types.MappingProxyType)
    assert guards.guarded_getattr(Library(), "own") == [1]
    assert isinstance(guards.guarded_getattr(Library(), "own"), list)


def test_a_class_the_function_defines_keeps_its_containers_writable() -> None:
    writes = guards.Writes()
    mine = writes.build_class(lambda: None, "Mine", Library)
    type.__setattr__(mine, "items", [])
    assert guards.guarded_getattr(mine, "items") == []
    assert isinstance(guards.guarded_getattr(mine, "items"), list)
    assert isinstance(guards.guarded_getattr(mine, "table"), types.MappingProxyType)
