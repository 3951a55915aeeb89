from emulator.registry import Registry, api_name, version_of


def registry_for(project):
    return Registry(project / "functions", project, "handler")


def test_load_all_compiles_each_function_file(project, write_function):
    write_function("hello", "def handler():\n    return 1\n")
    write_function("broken", "def handler(:\n")
    (project / "functions" / "_helper.py").write_text("x = 1\n")
    (project / "functions" / "my-func.py").write_text("def handler():\n    pass\n")
    (project / "functions" / "notes.txt").write_text("not code")
    scripts = registry_for(project).load_all()
    assert [(s.name, s.ok) for s in scripts] == [("broken", False), ("hello", True)]


def test_api_name_rules(tmp_path):
    names = ["hello.py", "Lead_Sync2.py", "_private.py", "2fast.py", "a-b.py", "x.pyc"]
    assert [api_name(tmp_path / n) for n in names] == [
        "hello", "Lead_Sync2", None, None, None, None
    ]  # fmt: skip


def test_version_follows_content(project, write_function):
    registry = registry_for(project)
    path = write_function("hello", "def handler():\n    return 1\n")
    registry.load_all()
    first = registry.get("hello").version
    path.write_text("def handler():\n    return 2\n")
    assert registry.refresh(path).after.version != first
    path.write_text("def handler():\n    return 1\n")
    assert registry.refresh(path).after.version == first


def test_refresh_of_a_deleted_file_removes_it(project, write_function):
    registry = registry_for(project)
    path = write_function("hello", "def handler():\n    return 1\n")
    registry.load_all()
    path.unlink()
    assert registry.refresh(path).after is None
    assert registry.get("hello") is None


def test_unreadable_script_is_a_load_error(project):
    (project / "functions" / "latin.py").write_bytes(
        b"def handler():\n    return '\xff'\n"
    )
    [script] = registry_for(project).load_all()
    assert not script.ok
    assert script.problems[0].message.startswith(
        "cannot read the script: 'utf-8' codec"
    )


def test_pathologically_nested_script_is_a_load_error_for_that_file_only(
    project, write_function
):
    write_function(
        "deep", "def handler():\n    return " + "(" * 5000 + ")" * 5000 + "\n"
    )
    write_function("fine", "def handler():\n    return 1\n")
    scripts = {s.name: s for s in registry_for(project).load_all()}
    assert not scripts["deep"].ok
    assert scripts["fine"].ok


def test_missing_folder_is_empty(tmp_path):
    assert Registry(tmp_path / "none", tmp_path, "handler").load_all() == []


def test_refresh_reports_each_change_and_skips_unchanged_bytes(project, write_function):
    registry = registry_for(project)
    path = write_function("hello", "def handler():\n    return 1\n")
    registry.load_all()
    first = registry.get("hello")
    assert registry.refresh(path) is None
    assert registry.get("hello") is first  # same bytes: not compiled again
    path.write_text("def handler():\n    return 2\n")
    change = registry.refresh(path)
    assert (change.name, change.before, change.after) == (
        "hello",
        first,
        registry.get("hello"),
    )
    assert change.after.version == version_of(path.read_bytes())


def test_refresh_adds_and_removes_functions(project):
    registry = registry_for(project)
    path = project / "functions" / "hi.py"
    assert registry.refresh(path) is None  # no file, no entry: nothing changed
    path.write_text("def handler():\n    return 1\n")
    added = registry.refresh(path)
    assert (added.before, added.after.name) == (None, "hi")
    path.unlink()
    removed = registry.refresh(path)
    assert (removed.before, removed.after) == (added.after, None)
    assert registry.get("hi") is None
    assert registry.refresh(path) is None


def test_refresh_compiles_the_bytes_it_is_given(project, write_function):
    registry = registry_for(project)
    path = write_function("hello", "def handler():\n    return 1\n")
    data = b"def handler():\n    return 'given'\n"
    change = registry.refresh(path, data)
    assert (change.after.source, change.after.version) == (
        data.decode(),
        version_of(data),
    )


def test_refresh_ignores_files_that_are_not_functions(project):
    path = project / "functions" / "hello.py~"
    path.write_text("def handler():\n    return 1\n")
    assert registry_for(project).refresh(path) is None


def test_warnings_name_misnamed_files_and_unknown_config_entries(
    project, write_function
):
    write_function("hello", "def handler():\n    return 1\n")
    (project / "functions" / "my-fn.py").write_text("def handler():\n    return 1\n")
    (project / "functions" / "_private.py").write_text("x = 1\n")
    from emulator.registry import warnings

    assert warnings(project / "functions", ["hello"], ["helo", "hello"]) == [
        "my-fn.py is not served: 'my-fn' is not a valid API name (letters, digits and "
        "'_', starting with a letter); rename it to my_fn.py",
        "config.yaml: functions.helo names no function (the functions are: hello); "
        "fix the name or remove the entry",
    ]
