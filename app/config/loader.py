"""Reading ``cluster.yaml``: YAML, ``${VAR}`` expansion, and errors that name the field."""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ai_how.domain.pci import HEX_ID_PATTERN

from .errors import ConfigError, ConfigIssue
from .kubernetes_models import DNS_LABEL, DNS_NAME, KUBE_VERSION_PATTERN
from .models import (
    BRIDGE_PATTERN,
    NAME_PATTERN,
    PARTITION_PATTERN,
    SLURM_TIME_PATTERN,
    TAG_PATTERN,
    UNION_TAGS,
    USER_PATTERN,
    ClusterConfig,
)

_PATTERN_WORDS = {
    HEX_ID_PATTERN: "must be 4 hexadecimal digits, like 10de",
    NAME_PATTERN: "must be 2-40 characters of lower-case letters, digits and '-', starting with a letter",
    BRIDGE_PATTERN: "must be a Linux interface name: 1-15 letters, digits, '_', '.' or '-', starting with a letter",
    USER_PATTERN: "must be a Linux user name: up to 32 lower-case letters, digits, '_' or '-', starting with a letter",
    TAG_PATTERN: "must be 1-36 letters, digits, '_', '.' or '-', starting with a letter or digit",
    PARTITION_PATTERN: "must be a SLURM partition name: 1-32 letters, digits, '_' or '-'",
    SLURM_TIME_PATTERN: "must be a SLURM time limit, like 90 (minutes), 24:00:00, 2-12:00:00 or INFINITE",
    KUBE_VERSION_PATTERN: "must be a Kubernetes version, like 1.33 or 1.33.5",
    DNS_LABEL: "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit",
    DNS_NAME: "must be a DNS name: lower-case letters, digits, '-' and '.'",
}

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if part in UNION_TAGS:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def expand_env(data: Any, env: Mapping[str, str], path: tuple[Any, ...] = ()) -> tuple[Any, list[ConfigIssue]]:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string value."""
    issues: list[ConfigIssue] = []
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out[key], sub = expand_env(value, env, (*path, key))
            issues += sub
        return out, issues
    if isinstance(data, list):
        items = []
        for index, value in enumerate(data):
            item, sub = expand_env(value, env, (*path, index))
            items.append(item)
            issues += sub
        return items, issues
    if isinstance(data, str):
        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            issues.append(ConfigIssue(format_path(path), f"environment variable {name} is not set; "
                                      f"export it or write ${{{name}:-default}}"))
            return match.group(0)
        return _VAR.sub(replace, data), issues
    return data, issues


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes an annotation can hold (through Optional, list, dict, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, dict):
        return [m for arg in typing.get_args(annotation) for m in _unwrap(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    models: list[type[BaseModel]] = [ClusterConfig]
    for part in loc:
        if not isinstance(part, str) or part in UNION_TAGS:
            continue
        next_models = []
        for model in models:
            for name, field in model.model_fields.items():
                if part in (name, field.alias):
                    next_models += _unwrap(field.annotation)
        models = next_models
    return sorted({field.alias or name for model in models for name, field in model.model_fields.items()})


def _issue_from_error(error: dict[str, Any]) -> ConfigIssue:
    loc = tuple(error["loc"])
    path = format_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        return ConfigIssue(path, f"unknown key '{key}'; {hint}")
    message = error["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        if "got " in message:
            return ConfigIssue(path, message)
    if kind == "string_pattern_mismatch":
        message = _PATTERN_WORDS.get(error.get("ctx", {}).get("pattern"), message)
    if kind == "missing":
        message = "required field is missing"
    value = error.get("input") if kind not in ("missing",) else None
    if isinstance(value, (dict, list)):
        value = None
    return ConfigIssue(path, message, value)


def parse_config(data: Any, source: str = "<config>", env: Mapping[str, str] | None = None) -> ClusterConfig:
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigIssue("", "the file must hold a YAML mapping with a 'clusters' key")])
    expanded, issues = expand_env(data, os.environ if env is None else env)
    if issues:
        raise ConfigError(source, issues)
    try:
        return ClusterConfig.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(source, _issues_from(exc.errors())) from None


def _issues_from(errors: list[Any]) -> list[ConfigIssue]:
    """One issue per error, less a 'missing' field that a misspelt key beside it explains."""
    issues = [_issue_from_error(e) for e in errors]
    explained = {
        (format_path(tuple(e["loc"][:-1])), issue.message.split("'")[3])
        for e, issue in zip(errors, issues)
        if e["type"] == "extra_forbidden" and "did you mean" in issue.message
    }
    return [
        issue for e, issue in zip(errors, issues)
        if not (e["type"] == "missing" and (format_path(tuple(e["loc"][:-1])), str(e["loc"][-1])) in explained)
    ]


MAX_BYTES = 1 << 20  # a cluster.yaml is a few KB
MAX_NODES = 100_000  # what the YAML holds once its aliases are expanded


def _read(path: Path) -> str:
    """The file's text; refused when it is no regular file (a FIFO would block the read), when
    it is far bigger than any config, or when it is not UTF-8."""
    from ai_how.app.user_files import UnreadableFile, read_text

    try:
        return read_text(path, MAX_BYTES)
    except UnreadableFile as exc:
        hint = "pass the path of your cluster.yaml" if exc.wrong_path else \
            "a cluster.yaml is a few KB: is this the right file?" if exc.too_big else ""
        raise ConfigError(str(path), [ConfigIssue("", f"{exc}; {hint}" if hint else str(exc))]) from None


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many nodes ``node`` stands for once every alias is copied out (aliases share nodes)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise ValueError("an alias refers to a node that contains it (a recursive alias)")
    open_nodes.add(key)
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    total = 1 + sum(_expanded_size(child, sizes, open_nodes) for child in children)
    open_nodes.discard(key)
    sizes[key] = min(total, MAX_NODES + 1)
    return sizes[key]


def _parse_yaml(text: str, source: str) -> Any:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _expanded_size(node, {}, set()) > MAX_NODES:
            raise ConfigError(source, [ConfigIssue("", f"its aliases expand to more than {MAX_NODES} values; a "
                                                       "cluster.yaml holds a few hundred")])
        return yaml.safe_load(text)
    except ValueError as exc:
        raise ConfigError(source, [ConfigIssue("", f"not a usable YAML document: {exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [ConfigIssue("", f"not valid YAML: {where}{problem}")]) from None


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> ClusterConfig:
    path = Path(path)
    return parse_config(_parse_yaml(_read(path), str(path)), str(path), env)
