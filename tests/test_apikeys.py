import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import config as config_module
from emulator.apikeys import KeyStore
from emulator.clock import Clock
from emulator.errors import UsageError
from emulator.store import Store

ROOT = Path(__file__).resolve().parents[1]
SHAPE = re.compile(r"^1003\.[0-9a-f]{32}\.[0-9a-f]{32}$")


@pytest.fixture
def keys(tmp_path):
    return KeyStore(Store(tmp_path / "state.db"), Clock())


def test_created_key_has_zoho_shape_and_only_its_hash_is_stored(keys, tmp_path):
    key, secret = keys.create("u1", "ci")
    assert SHAPE.match(secret)
    assert keys.owner(secret) == "u1"
    assert key.masked == f"{secret[:9]}…{secret[-4:]}"
    assert (key.user_id, key.label, key.active, key.seeded) == ("u1", "ci", True, False)
    dump = "\n".join(sqlite3.connect(tmp_path / "state.db").iterdump())
    assert secret not in dump
    assert secret[10:40] not in dump


def test_unknown_and_near_miss_keys_have_no_owner(keys):
    _, secret = keys.create("u1")
    assert keys.owner("1003." + "0" * 32 + "." + "0" * 32) is None
    assert keys.owner(secret[:-1] + ("0" if secret[-1] != "0" else "1")) is None
    assert keys.owner("") is None


def test_revoke_and_revoke_again(keys):
    key, secret = keys.create("u1")
    assert keys.revoke(key.id).active is False
    assert keys.owner(secret) is None
    with pytest.raises(UsageError) as caught:
        keys.revoke(key.id)
    assert (
        caught.value.message == f"API key {key.id} ({key.masked}) is already revoked."
    )


def test_revoke_unknown_id(keys):
    with pytest.raises(UsageError) as caught:
        keys.revoke(99)
    assert caught.value.message == (
        "no API key with id 99. Run 'zcrm-emulator keys list' to see the ids."
    )


def test_regenerate_revokes_only_that_users_keys(keys):
    _, old = keys.create("u1")
    _, other = keys.create("u2")
    _, new = keys.regenerate("u1")
    assert keys.owner(old) is None
    assert keys.owner(new) == "u1"
    assert keys.owner(other) == "u2"


def test_seed_is_idempotent_and_owned_by_the_named_user(keys, tmp_path):
    key = "1003." + "a" * 32 + "." + "b" * 32
    config = config_module.from_data(
        {
            "users": [
                {"email": "a@example.com"},
                {"email": "b@example.com", "id": "u2"},
            ],
            "api_keys": [{"key": key, "user": "b@example.com"}],
        },
        root=tmp_path,
    )
    keys.seed(config)
    keys.seed(config)
    assert [(k.seeded, k.label) for k in keys.list()] == [(True, "config.yaml")]
    assert keys.owner(key) == "u2"


def test_ensure_one_creates_a_key_only_when_none_is_active(keys):
    secret = keys.ensure_one("u1")
    assert secret and keys.owner(secret) == "u1"
    assert keys.ensure_one("u1") is None
    keys.revoke(keys.list()[0].id)
    assert keys.ensure_one("u1") is not None


def test_two_stores_on_one_file_agree(tmp_path):
    first = KeyStore(Store(tmp_path / "state.db"), Clock())
    second = KeyStore(Store(tmp_path / "state.db"), Clock())
    key, secret = first.create("u1")
    assert second.owner(secret) == "u1"
    second.revoke(key.id)
    assert first.owner(secret) is None


def test_lookups_are_cached_until_the_stamp_says_the_keys_changed(keys):
    _, secret = keys.create("u1")
    assert keys.owner(secret) == "u1"
    # A change that does not touch the stamp is not seen: the answer is cached...
    with keys.store.transaction() as db:
        db.execute("UPDATE api_keys SET revoked_at = 1")
    assert keys.owner(secret) == "u1"
    # ...and every change made through a KeyStore, in any process, touches it.
    keys.stamp.touch()
    assert keys.owner(secret) is None


def test_an_answer_overtaken_by_a_change_is_not_reused(keys, monkeypatch):
    key, secret = keys.create("u1")
    lookup = keys._lookup

    def overtaken(wanted):
        found = lookup(wanted)  # true when the query ran...
        keys.revoke(key.id)  # ...and overtaken by a change before it is kept
        return found

    monkeypatch.setattr(keys, "_lookup", overtaken)
    assert keys.owner(secret) == "u1"
    monkeypatch.undo()
    assert keys.owner(secret) is None


def test_a_key_revoked_in_another_process_is_refused_on_the_next_call(keys, tmp_path):
    key, secret = keys.create("u1")
    assert keys.owner(secret) == "u1"  # now in this process's cache
    revoke = (
        "import sys\n"
        "from pathlib import Path\n"
        "from emulator.apikeys import KeyStore\n"
        "from emulator.clock import Clock\n"
        "from emulator.store import Store\n"
        "KeyStore(Store(Path(sys.argv[1])), Clock()).revoke(int(sys.argv[2]))\n"
    )
    subprocess.run(
        [sys.executable, "-c", revoke, str(tmp_path / "state.db"), str(key.id)],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=60,
    )  # fmt: skip
    assert keys.owner(secret) is None
