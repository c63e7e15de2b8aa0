"""Real services on loopback for the registry tests: MLflow's tracking server (PyPI's mlflow)
with its registry in a database of the test PostgreSQL and its artifacts in a local folder,
and an S3-compatible server (PyPI's moto, its standalone server). Each runs as its own
process on 127.0.0.1, started once per test session."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def _process(argv: list[str], health: str, log: Path, timeout_s: float) -> Iterator[None]:
    with log.open("w") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, "NO_PROXY": "*"})
    try:
        _wait(health, process, log, timeout_s)
        yield
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def mlflow_server(postgres_url: str, folder: Path) -> Iterator[str]:
    """MLflow's tracking server and registry in a fresh database; its URL."""
    import psycopg

    database = f"mlflow_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    backend = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0] + f"/{database}"
    port = free_port()
    artifacts = folder / "mlflow-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    try:
        with _process([str(BIN / "mlflow"), "server", "--backend-store-uri", backend, "--artifacts-destination",
                       str(artifacts), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                      f"http://127.0.0.1:{port}/health", folder / "mlflow.log", 180):
            yield f"http://127.0.0.1:{port}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def s3_server(folder: Path) -> Iterator[str]:
    """moto's S3 server; its URL (any access key and secret are accepted)."""
    port = free_port()
    with _process([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                  f"http://127.0.0.1:{port}/moto-api/", folder / "s3.log", 60):
        yield f"http://127.0.0.1:{port}"
