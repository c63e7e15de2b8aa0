"""Waiting until something is so: every poll loop of the tool is this one (tenacity's)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(check: Callable[[], T], done: Callable[[T], bool], timeout_s: float, every_s: float,
         sleep: Callable[[float], None] = time.sleep, retry_on: tuple[type[Exception], ...] = ()) -> T:
    """``check()`` every ``every_s`` seconds until ``done`` says its result will do, or until
    ``timeout_s`` has passed: the last result either way. An exception of ``retry_on`` counts
    as not yet; raised again if the time is up."""
    from tenacity import Retrying, retry_if_exception_type, retry_if_result, stop_after_delay, wait_fixed

    not_yet = retry_if_result(lambda result: not done(result))
    retry = not_yet | retry_if_exception_type(retry_on) if retry_on else not_yet
    retrying = Retrying(stop=stop_after_delay(timeout_s), wait=wait_fixed(every_s), retry=retry, sleep=sleep,
                        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None)
    result: T = retrying(check)
    return result
