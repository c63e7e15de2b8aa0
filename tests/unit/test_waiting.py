"""The one wait of the tool: until a check's result will do, or the time is up."""

from __future__ import annotations

import itertools

import pytest

from ai_how.app.waiting import poll


def _no_sleep(_: float) -> None:
    return None


def test_it_returns_the_first_result_that_will_do() -> None:
    counter = itertools.count()
    assert poll(lambda: next(counter), lambda n: n >= 3, 60, 1, _no_sleep) == 3


def test_when_the_time_is_up_it_returns_the_last_result() -> None:
    counter = itertools.count()
    assert poll(lambda: next(counter), lambda n: n < 0, 0.05, 0.01) >= 1


def test_an_expected_exception_is_asked_again_and_raised_when_the_time_is_up() -> None:
    tries = itertools.count()

    def coming_up() -> str:
        if next(tries) < 2:
            raise ConnectionError("not yet")
        return "up"

    assert poll(coming_up, lambda _: True, 60, 1, _no_sleep, retry_on=(ConnectionError,)) == "up"

    def down() -> str:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError, match="down"):
        poll(down, lambda _: True, 0.05, 0.01, retry_on=(ConnectionError,))
    with pytest.raises(ValueError):
        poll(lambda: int("x"), lambda _: True, 60, 1, _no_sleep, retry_on=(ConnectionError,))
