"""Fuzzing every command's own arguments and options, by what each one means: ages and
times, PCI addresses, names, numbers, @FILE data, URIs (all on loopback) and the files users
do pass by mistake (a directory, a FIFO, a device, a huge file, YAML whose aliases explode or
refer to themselves). Each answer is a documented exit code within seconds, with a reason on
a refusal, and never a traceback or an "internal error"."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ai_how.app.cli import app
from tests.conftest import REPO, TEST_DRIVER_HOST

# Real work that takes minutes, or a terminal: covered by their own tests, not fuzzed.
SKIPPED = {("image", "build"), ("kubespray", "setup"), ("vm", "console"), ("vm", "ssh"), ("hpc", "ssh")}

TIMES = ["2h", "30m", "7d", "0m", "-5m", "99999999d", "2026-12-05T10:00:00", "2026-13-45", "yesterday", "now", "",
         "1e9", "0", "2026-12-05T10:00:00+05:00"]
PCI = ["0000:01:00.0", "0000:01:00.1", "01:00.0", "0000:zz:00.0", "0000:01:00", "ffff:ff:1f.7", "", "0000:01:00.0 "]
NAMES = ["mini-hpc-compute-01", "hpc-cluster-controller", "no-such-vm", "cloud-cluster-gpu-worker-01", "", "-x",
         "a" * 300, "é", "../etc", "Model_1", "llm@staging", "llm/3", "default", "kube-system"]
NUMBERS = ["0", "1", "-1", "600", "1e9", "nan", "inf", "-inf", "3.5", "abc", "", "99999999999999999999"]
URIS = ["http://127.0.0.1:9", "http://127.0.0.1:1/", "https://127.0.0.1:9/x", "s3://models/x", "pvc://a/b",
        "mlflow-artifacts:/x", "ftp://127.0.0.1", "not a uri", "", "http://[::1]:9", "gs://b/k", "hf://org/model"]
DATA = ['{"instances": [[1, 2]]}', "{not json", "[]", "@{shared}/model.json", "@{shared}/dir", "@{shared}/fifo",
        "@/dev/null", "@{shared}/nothing", "@{shared}/huge.yaml", "@"]
PATHS = ["{shared}/minimal.yaml", "{shared}/multi.yaml", "{shared}/dir", "{shared}/fifo", "/dev/null", "/dev/zero",
         "{shared}/huge.yaml", "{shared}/bomb.yaml", "{shared}/recursive.yaml", "{shared}/latin1.yaml",
         "{shared}/empty.yaml", "{shared}/nothing.yaml", "{shared}/model", "{own}/out", "{own}/out/deeper", ""]
BY_NAME = {
    "since": TIMES, "until": TIMES, "when": TIMES, "pci_address": PCI, "gpu": PCI + NUMBERS,
    "name": NAMES, "vm": NAMES, "to": NAMES, "source": NAMES, "cluster": NAMES, "limit": NAMES + NUMBERS,
    "namespace": NAMES, "alias": NAMES, "service_account": NAMES, "types": ["GpuLeased", "NoSuchEvent", ""],
    "mlflow": NAMES, "bucket": NAMES, "suite": ["trixie", "bookworm", "sid", ""], "builder": ["packer", "x"],
    "wait": NUMBERS, "timeout": NUMBERS, "drain_timeout": NUMBERS, "min_replicas": NUMBERS,
    "max_replicas": NUMBERS, "target_concurrency": NUMBERS, "cpu": ["2", "500m", "-1", "x"],
    "memory": ["8Gi", "0", "-1Gi", "lots"], "fmt": ["yaml", "ini", "json", ""],
    "protocol": ["v1", "v2", "v3", ""], "model_format": ["sklearn", "mlflow", "onnx", "", "x" * 100],
    "uri": URIS, "mlflow_uri": URIS, "s3_endpoint": URIS, "ingress": URIS, "data": DATA,
    "command": ["--", "hostname", "sinfo", "-N"],
}


def _commands() -> list[tuple[tuple[str, ...], object]]:
    found = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        elif path not in SKIPPED:
            found.append((path, command))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _commands()


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    """What users pass by mistake, made once."""
    folder = tmp_path_factory.mktemp("fuzz-inputs")
    (folder / "minimal.yaml").write_text((REPO / "examples" / "minimal.yaml").read_text())
    (folder / "multi.yaml").write_text((REPO / "examples" / "multi-gpu-clusters.yaml").read_text())
    (folder / "dir").mkdir()
    os.mkfifo(folder / "fifo")
    with (folder / "huge.yaml").open("wb") as huge:
        huge.truncate(64 << 20)
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 9)}]" for i in range(1, 10)]
    (folder / "bomb.yaml").write_text("\n".join(levels) + "\n")
    (folder / "recursive.yaml").write_text("clusters: &loop {hpc: *loop}\n")
    (folder / "latin1.yaml").write_bytes(b"clusters: \xe9t\xe9\n")
    (folder / "empty.yaml").write_text("")
    (folder / "model").mkdir()
    (folder / "model" / "model.pkl").write_bytes(b"weights")
    (folder / "model.json").write_text('{"instances": [[1]]}')
    return folder


def _argv(draw, path: tuple[str, ...], command: object, shared: Path, own: Path) -> list[str]:
    words = list(path)
    for param in command.params:
        name = param.name
        is_option = param.param_type_name == "option"
        if is_option and not draw(st.booleans()):
            continue
        if getattr(param, "is_flag", False):
            words.append(param.opts[0])
            continue
        pool = BY_NAME.get(name) or (PATHS if name in ("config", "adopt", "kubespray", "directory", "path",
                                                       "output", "ssh_config") else NAMES)
        value = draw(st.sampled_from(pool) | st.text(max_size=8)).replace("{shared}", str(shared))
        value = value.replace("{own}", str(own))
        if is_option:
            words += [param.opts[0], value]
        elif draw(st.integers(0, 9)):  # now and then an argument is left out
            words.append(value)
    return words


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_arguments_of_any_command_get_a_clean_answer(data, shared, monkeypatch) -> None:
    import time

    path, command = data.draw(st.sampled_from(COMMANDS))
    with tempfile.TemporaryDirectory() as folder:
        own = Path(folder)
        monkeypatch.setenv("HOME", folder)  # ~/.ssh/config and other defaults stay in the example's folder
        driver = own / "host.xml"
        driver.write_text(TEST_DRIVER_HOST)
        words = _argv(data.draw, path, command, shared, own)
        began = time.monotonic()
        result = CliRunner().invoke(app, ["--state-dir", f"{folder}/state", "--libvirt-uri", f"test://{driver}",
                                          *words], catch_exceptions=True)
        seconds = time.monotonic() - began
    output = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (words, repr(result.exception))
    assert result.exit_code in (0, 1, 2, 3), (words, result.exit_code, output)
    assert "Traceback" not in output and "internal error" not in output, (words, output)
    if result.exit_code:
        assert output.strip(), (words, "a refusal must say why")
    assert seconds < 20, (words, f"{seconds:.0f} s")
