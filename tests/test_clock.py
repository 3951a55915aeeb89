"""The clock: wall time plus an offset, kept in the store so every process agrees."""

from __future__ import annotations

import pytest

from emulator.clock import Clock, parse_duration
from emulator.errors import UsageError
from emulator.store import Stamp, Store


def fixed_wall() -> float:
    return 1_000_000.0


def test_a_clock_without_a_store_keeps_its_offset_in_memory():
    clock = Clock(wall=fixed_wall)
    assert clock.now() == 1_000_000.0
    assert clock.advance(90) == 90
    assert clock.now() == 1_000_090.0
    assert clock.reset() == 0
    assert clock.now() == 1_000_000.0


def test_clocks_on_one_store_share_the_offset(tmp_path):
    first = Clock(Store(tmp_path / "state.db"), wall=fixed_wall)
    second = Clock(Store(tmp_path / "state.db"), wall=fixed_wall)
    first.advance(3600)
    second.advance(60)
    assert first.now() == second.now() == 1_003_660.0
    second.reset()
    assert first.offset() == 0


def test_a_move_by_another_clock_counts_from_the_next_read(tmp_path):
    first = Clock(Store(tmp_path / "state.db"), wall=fixed_wall)
    second = Clock(Store(tmp_path / "state.db"), wall=fixed_wall)
    assert second.now() == 1_000_000.0  # the offset is now in second's cache
    first.advance(90)
    assert second.now() == 1_000_090.0
    first.reset()
    assert second.offset() == 0


def test_the_offset_is_cached_until_the_clock_stamp_moves(tmp_path):
    clock = Clock(Store(tmp_path / "state.db"), wall=fixed_wall)
    clock.advance(60)
    assert clock.offset() == 60
    with Store(tmp_path / "state.db").transaction() as db:
        db.execute("UPDATE clock SET offset_seconds = 120")
    assert clock.offset() == 60  # a change that did not touch the stamp...
    Stamp(tmp_path / "clock.stamp").touch()  # ...is seen once the stamp moves
    assert clock.offset() == 120


def test_the_clock_only_moves_forward():
    with pytest.raises(UsageError) as caught:
        Clock().advance(-5)
    assert caught.value.message == (
        "the clock only moves forward; found -5 seconds. Pass a positive duration, or "
        "reset the clock to the wall time."
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("90", 90, id="bare"),
        pytest.param("90s", 90, id="seconds"),
        pytest.param("15m", 900, id="minutes"),
        pytest.param("1h", 3600, id="hours"),
        pytest.param("2d", 172800, id="days"),
        pytest.param("1.5h", 5400, id="fraction"),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_other_text():
    with pytest.raises(UsageError) as caught:
        parse_duration("an hour")
    assert caught.value.message == (
        "expected a duration such as 90, 90s, 15m, 1h or 2d; found 'an hour'."
    )
