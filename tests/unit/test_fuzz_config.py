"""Fuzzing cluster configs: whatever the file says, ai-how answers or names the problem."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_how.app.config.loader import ConfigError, load_config, parse_config
from ai_how.app.config.validation import validate_config
from tests.conftest import REPO

EXAMPLE = yaml.safe_load((REPO / "examples" / "multi-gpu-clusters.yaml").read_text())

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=40), st.sampled_from(["0000:01:00.0", "10de", "192.168.100.300", "${X}",
                                                           "virbr100", "../../etc", "hpc cluster", "-1", "1e9"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=12), inner, max_size=3), max_leaves=8)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


ALL_PATHS = list(paths(EXAMPLE))[1:]


def check(data) -> None:
    try:
        config = parse_config(data, "fuzz.yaml", env={})
    except ConfigError as refused:
        assert refused.issues and all(str(issue).strip() for issue in refused.issues)
        return
    report = validate_config(config)
    assert all(f.message for f in report.findings)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), values), min_size=1, max_size=4))
def test_a_mutated_example_is_accepted_or_refused_with_reasons(mutations) -> None:
    data = copy.deepcopy(EXAMPLE)
    for path, value in mutations:
        node = data
        try:
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the way there
    check(data)


@settings(max_examples=200, deadline=None)
@given(values)
def test_any_yaml_value_is_accepted_or_refused_with_reasons(data) -> None:
    check(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_file_is_refused_with_reasons_not_a_traceback(tmp_path: Path, text: str) -> None:
    target = tmp_path / "cluster.yaml"
    target.write_text(text, encoding="utf-8")
    try:
        load_config(target, env={})
    except ConfigError as refused:
        assert refused.issues
