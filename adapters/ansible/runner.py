"""The ``Provisioner`` port on ansible-runner.

Each run gets a private data directory of its own, ``<state>/runs/<run id>/`` (0700):
``inventory/hosts.yaml`` with a copy of ``ansible/group_vars`` beside it, ``env/extravars``
(ansible-runner hands it to Ansible as ``-e @file``, so no value is on a command line) and
``artifacts/<run id>/`` (the run's events, stdout, rc and status), kept for inspection.
Secrets reach the run only as paths, and the tasks that read them are ``no_log``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import HostTally, PlaybookFailure, PlaybookOutcome, PlaybookRun, Provisioner

INSTALL = "pip install 'ansible-runner>=2.3' (or reinstall ai-how: pip install -e .)"
RESULT_STATUS = {"runner_on_ok": "ok", "runner_on_failed": "failed", "runner_on_skipped": "skipped",
                 "runner_on_unreachable": "unreachable"}


KEPT_VARIABLES = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TERM", "TMPDIR", "PYTHONPATH",
                  "PYTHONUNBUFFERED", "VIRTUAL_ENV", "JOB_ID", "AD_HOC_COMMAND_ID", "PROJECT_UPDATE_ID"}
KEPT_PREFIXES = ("ANSIBLE_", "AWX_", "RUNNER_", "LC_", "ORIGINAL_STDOUT_CALLBACK")


def kept_environment(env: Mapping[str, str]) -> dict[str, str]:
    """What of an environment Ansible's run gets (and its artifacts record)."""
    return {k: v for k, v in env.items() if k in KEPT_VARIABLES or k.startswith(KEPT_PREFIXES)}


def _private(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _message(result: dict[str, Any]) -> str:
    """What a failed task said: its msg, else the failed loop item's, else stderr."""
    for item in result.get("results") or []:
        if isinstance(item, dict) and item.get("failed"):
            return _message(item)
    text = result.get("msg") or result.get("stderr") or result.get("module_stderr") or "failed"
    return " ".join(str(text).split())


class AnsibleRunnerProvisioner(Provisioner):
    def __init__(self, ansible_dir: Path, runs_dir: Path, env: Mapping[str, str] | None = None,
                 timeout_s: int = 3600) -> None:
        self.ansible_dir = ansible_dir
        self.runs_dir = runs_dir
        self.env = dict(env or {})  # extra environment for Ansible
        self.timeout_s = timeout_s

    def check(self) -> None:
        try:
            import ansible_runner  # noqa: F401
        except ImportError:
            raise InfrastructureError(f"ansible-runner is not installed; install it with: {INSTALL}") from None
        if self._binary() is None:
            raise InfrastructureError("ansible-playbook is not installed; install it with: pip install ansible-core")

    @staticmethod
    def _binary() -> str | None:
        beside = Path(sys.executable).parent / "ansible-playbook"
        return str(beside) if beside.exists() else shutil.which("ansible-playbook")

    def _lock_path(self, cluster: str) -> Path:
        return _private(self.runs_dir) / f".{cluster}.lock"

    def busy(self, cluster: str) -> bool:
        with open(self._lock_path(cluster), "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    def digest(self, playbook: str) -> str:
        """The playbook, ansible.cfg, group_vars and every role: what a run reads."""
        digest = hashlib.sha256()
        files = [self.ansible_dir / playbook, self.ansible_dir / "ansible.cfg"]
        for folder in ("group_vars", "roles"):
            files += sorted(p for p in (self.ansible_dir / folder).rglob("*") if p.is_file())
        for path in files:
            if path.exists():
                digest.update(str(path.relative_to(self.ansible_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def _prepare(self, run: PlaybookRun) -> Path:
        import yaml

        data = _private(self.runs_dir / run.run_id)
        inventory = _private(data / "inventory")
        (inventory / "hosts.yaml").write_text(yaml.safe_dump(run.inventory, sort_keys=False))
        if run.group_vars is not None:
            for relative, content in run.group_vars.items():
                target = inventory / "group_vars" / relative
                _private(target.parent)
                target.write_text(yaml.safe_dump(content, sort_keys=False))
            return data
        group_vars = self.ansible_dir / "group_vars"
        if group_vars.is_dir():
            shutil.copytree(group_vars, inventory / "group_vars", dirs_exist_ok=True)
        return data

    def _envvars(self, run: PlaybookRun) -> dict[str, str]:
        run_id = run.run_id
        binary = run.binary or self._binary() or "ansible-playbook"
        # SSH masters of this run only: a later run connects anew and checks every host key
        # against the pinned one. Short, so that the socket path fits in 108 bytes.
        control = Path(tempfile.gettempdir()) / "ai-how-cp" / hashlib.sha256(run_id.encode()).hexdigest()[:10]
        # ansible-runner turns host key checking off unless told: every host key here is pinned.
        roles = [*run.roles_paths, str(self.ansible_dir / "roles")]
        library = [str(Path(p).parent / "library") for p in run.roles_paths if (Path(p).parent / "library").is_dir()]
        extra = {"ANSIBLE_LIBRARY": os.pathsep.join(library)} if library else {}
        return {"ANSIBLE_CONFIG": str(self.ansible_dir / "ansible.cfg"), "ANSIBLE_HOST_KEY_CHECKING": "True",
                "ANSIBLE_ROLES_PATH": os.pathsep.join(roles), **extra,
                "ANSIBLE_FORCE_COLOR": "False", "ANSIBLE_NOCOLOR": "True",
                "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
                "PATH": f"{Path(binary).parent}{os.pathsep}{os.environ.get('PATH', '')}", **self.env}

    def run(self, run: PlaybookRun, on_task: Callable[[str, str, str], None]) -> PlaybookOutcome:
        self.check()
        if run.binary is not None and not Path(run.binary).exists():
            raise InfrastructureError(f"{run.binary} does not exist; make Kubespray's environment again with "
                                      "'ai-how kubespray setup DIR'")
        from ansible_runner.interface import init_runner

        data = self._prepare(run)
        failures: list[PlaybookFailure] = []

        def on_event(event: dict[str, Any]) -> bool:
            status = RESULT_STATUS.get(event.get("event", ""))
            detail = event.get("event_data") or {}
            if status is None or "host" not in detail:
                return True
            result = detail.get("res") or {}
            if status == "ok" and result.get("changed"):
                status = "changed"
            if status == "failed" and detail.get("ignore_errors"):
                status = "ok"
            task = detail.get("task") or "?"
            if detail.get("role"):  # as Ansible prints it: 'role : task'
                task = f"{detail['role']} : {task}"
            if status in ("failed", "unreachable"):
                failures.append(PlaybookFailure(detail["host"], task, _message(result)))
            on_task(detail["host"], status, task)
            return True

        with open(self._lock_path(run.cluster), "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InfrastructureError(f"another deploy of {run.cluster} is running; wait for it to end") from None
            began = time.monotonic()
            runner = init_runner(
                private_data_dir=str(data), project_dir=str(self.ansible_dir), playbook=run.playbook,
                inventory=str(data / "inventory"), extravars=run.extravars,
                envvars=self._envvars(run), binary=run.binary, ident=run.run_id, limit=run.limit,
                cmdline=self._cmdline(run), event_handler=on_event, quiet=True,
                timeout=self.timeout_s, rotate_artifacts=0)
            # ansible-runner seeds Ansible's environment with all of ours and writes it into the
            # run's artifacts: only what Ansible needs goes, never a password in a store URL.
            runner.config.env = kept_environment(runner.config.env)
            runner.run()
            seconds = time.monotonic() - began
        return PlaybookOutcome(run.run_id, runner.status, runner.rc if runner.rc is not None else -1, seconds,
                               _tallies(runner.stats or {}), data / "artifacts" / run.run_id,
                               failures[0] if failures else self._no_task_failed(runner))

    def _cmdline(self, run: PlaybookRun) -> str | None:
        """ansible-runner names the playbook only to its own ansible-playbook: another binary
        (Kubespray's venv) gets it on the command line."""
        words = [shlex.quote(str(self.ansible_dir / run.playbook))] if run.binary else []
        words += ["--check", "--diff"] if run.check else []
        return " ".join(words) or None

    @staticmethod
    def _no_task_failed(runner: Any) -> PlaybookFailure | None:
        """A run that failed before any task did (a syntax error, a timeout): its last words."""
        if runner.status == "successful":
            return None
        tail = [line.strip() for line in runner.stdout.read().splitlines() if line.strip()][-3:]
        return PlaybookFailure("-", "-", f"ansible-playbook ended {runner.status} (rc {runner.rc}): "
                               + (" ".join(tail) or "no output"))


def _tallies(stats: dict[str, dict[str, int]]) -> dict[str, HostTally]:
    hosts: dict[str, HostTally] = {}
    for field_name, key in (("ok", "ok"), ("changed", "changed"), ("failed", "failures"),
                            ("unreachable", "dark"), ("skipped", "skipped")):
        for host, count in (stats.get(key) or {}).items():
            setattr(hosts.setdefault(host, HostTally()), field_name, count)
    return hosts
