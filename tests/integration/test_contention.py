"""The load proof, small enough to run always: operators racing for GPUs on each backend.

benchmarks/contention.py runs the same at full size (16 processes x 50 cycles x 4 GPUs).
"""

from __future__ import annotations

import os

import pytest

from benchmarks.contention import run

pytestmark = [pytest.mark.slow, pytest.mark.race]


def test_many_operators_few_gpus_the_rule_holds_and_nothing_is_lost(store_backend: str) -> None:
    result = run(store_backend, processes=6, cycles=8, gpus=2, plain=False,
                 store_url=os.environ.get("AI_HOW_EVENT_STORE"))
    assert result["violations"] == []
    assert result["lost_events"] == 0
    assert result["unclear_refusals"] == 0
    assert result["views_right"], "the views the processes kept differ from a fold of the log"
    assert result["wins"] > 0
    assert result["commands"] == 2 * result["wins"] + result["refusals"]
    assert result["events"] > 0
