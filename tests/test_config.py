import dataclasses
from pathlib import Path

import pytest

from emulator import config as config_module
from emulator.config import DEFAULT_USER
from emulator.errors import ConfigError

KEY = "1003." + "1" * 32 + "." + "2" * 32
# Every top-level key, in declaration order, as the "Allowed here" hint lists them.
TOP_LEVEL = ", ".join(
    f.name
    for f in dataclasses.fields(config_module.Config)
    if not f.metadata.get("internal")
)


def load_text(tmp_path: Path, text: str) -> config_module.Config:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return config_module.load(path)


def test_empty_file_gives_every_default(tmp_path):
    config = load_text(tmp_path, "")
    assert config.server.host == "127.0.0.1"
    assert config.server.port == 8000
    assert config.entry_point == "handler"
    assert config.users == (DEFAULT_USER,)
    assert config.limits.request_bytes == 10 * 1024 * 1024
    assert config.function("anything").rest.apikey is True
    assert config.function("anything").rest.oauth is True
    assert config.limits.isolation == "worker"


def test_relative_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sub" / "config.yaml"
    path.write_text("functions_dir: fns\nstate_dir: st\n", encoding="utf-8")
    config = config_module.load(Path("sub/config.yaml"))
    assert config.functions_path == tmp_path / "sub" / "fns"
    assert config.state_path == tmp_path / "sub" / "st" / "state.db"


def test_users_without_id_get_distinct_generated_ids(tmp_path):
    config = load_text(
        tmp_path,
        "users:\n  - email: a@example.com\n  - email: b@example.com\n    first_name: Bo\n",
    )
    ids = [u.id for u in config.users]
    assert ids == ["4150868000000225013", "4150868000000225014"]
    assert config.users[1].full_name == "Bo"
    assert config.user("b@example.com").id == ids[1]
    assert config.user("").email == "a@example.com"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "sever:\n  port: 1\n",
            f"config.yaml: unknown key 'sever'. Did you mean 'server'? Allowed here: "
            f"{TOP_LEVEL}.",
            id="unknown-top-level-key",
        ),
        pytest.param(
            "server:\n  prot: 1\n",
            "config.yaml: unknown key 'server.prot'. Did you mean 'port'? Allowed here: "
            "host, port.",
            id="unknown-nested-key",
        ),
        pytest.param(
            "server:\n  port: abc\n",
            "config.yaml: server.port: expected a port 1-65535; found 'abc'. "
            "Set server.port to a port 1-65535 in config.yaml.",
            id="wrong-type",
        ),
        pytest.param(
            "server:\n  port: 70000\n",
            "config.yaml: server.port: expected a port 1-65535; found 70000. "
            "Ports run from 1 to 65535.",
            id="port-out-of-range",
        ),
        pytest.param(
            "server:\n  port: true\n",
            "config.yaml: server.port: expected a port 1-65535; found True. "
            "Set server.port to a port 1-65535 in config.yaml.",
            id="bool-is-not-an-int",
        ),
        pytest.param(
            "users: admin@example.com\n",
            "config.yaml: users: expected a list; found 'admin@example.com'. "
            "Write users as a YAML list.",
            id="scalar-for-list",
        ),
        pytest.param(
            "server: 8000\n",
            "config.yaml: server: expected a mapping; found 8000. "
            "Write server as key: value lines.",
            id="scalar-for-mapping",
        ),
        pytest.param(
            "users:\n  - first_name: Ada\n",
            "config.yaml: users[0].email: expected a value; found nothing (null). "
            "Add users[0].email to config.yaml.",
            id="missing-required-key",
        ),
        pytest.param(
            "users:\n  - email: ada\n",
            "config.yaml: users[0].email: expected an e-mail address; found 'ada'. "
            "Write a full e-mail address such as ada@example.com.",
            id="bad-email",
        ),
        pytest.param(
            "api_keys:\n  - key: secret\n",
            "config.yaml: api_keys[0].key: expected a Zoho API key; found 'secret'. "
            "Zoho API keys look like 1003.<32 hex>.<32 hex>; run 'zcrm-emulator keys "
            "create' to make one, or remove the entry.",
            id="bad-api-key",
        ),
        pytest.param(
            f"api_keys:\n  - key: {KEY}\n    user: nobody@example.com\n",
            "config.yaml: api_keys[0].user: unknown user 'nobody@example.com'; the "
            "emulated users are: admin@example.com. Use one of them, or add the user "
            "under 'users' in config.yaml.",
            id="key-owner-unknown",
        ),
        pytest.param(
            "users:\n  - email: a@example.com\n  - email: a@example.com\n",
            "config.yaml: users[1].email: 'a@example.com' is used by two users. "
            "Give each user its own email.",
            id="duplicate-user",
        ),
        pytest.param(
            "entry_point: 2fast\n",
            "config.yaml: entry_point: expected a function name; found '2fast'. Use a "
            "Python identifier: letters, digits and '_', not starting with a digit.",
            id="bad-entry-point",
        ),
        pytest.param(
            "functions:\n  hello:\n    rest:\n      apikey: sometimes\n",
            "config.yaml: functions.hello.rest.apikey: expected true or false; found "
            "'sometimes'. Set functions.hello.rest.apikey to true or false in config.yaml.",
            id="bad-toggle",
        ),
        pytest.param(
            "limits:\n  isolation: thread\n",
            "config.yaml: limits.isolation: expected 'worker' or 'process'; found "
            "'thread'. Use 'worker' (long-lived workers, each call from fresh state: "
            "fast) or 'process' (a fresh process for every call: slower, nothing to "
            "audit).",
            id="bad-isolation",
        ),
        pytest.param(
            "- a\n- b\n",
            "config.yaml: expected a mapping; found a list. "
            "Write the top level as key: value lines.",
            id="top-level-list",
        ),
        pytest.param(
            "root: /etc\n",
            f"config.yaml: unknown key 'root'. Allowed here: {TOP_LEVEL}.",
            id="internal-field-is-not-a-key",
        ),
    ],
)
def test_each_kind_of_mistake_names_key_value_and_fix(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    assert caught.value.message.replace(
        str(tmp_path / "config.yaml"), "config.yaml"
    ) == (message)


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(ConfigError) as caught:
        config_module.load(tmp_path / "nope.yaml")
    assert caught.value.message == (
        f"{tmp_path / 'nope.yaml'}: no such config file. Run the emulator in a project "
        "folder that has a config.yaml, pass --config PATH, or run 'zcrm-emulator init' "
        "to make one."
    )


def test_invalid_yaml_is_reported_with_its_position(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, "server: [unclosed\n")
    assert caught.value.message.startswith(
        f"{tmp_path / 'config.yaml'}: not valid YAML:"
    )
    assert "line 2" in caught.value.message


def test_the_sample_config_loads_and_documents_every_key():
    root = Path(__file__).resolve().parent.parent
    config = config_module.load(root / "config.yaml")
    assert config.function("create_lead").rest.oauth is False
    text = (root / "config.yaml").read_text(encoding="utf-8")
    for key in ("functions_dir", "state_dir", "entry_point", "host", "port", "org",
                "users", "api_keys", "functions", "request_bytes", "response_bytes"):  # fmt: skip
        assert f"{key}:" in text, key
