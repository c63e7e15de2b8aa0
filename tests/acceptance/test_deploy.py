"""Steps for features/hpc_inventory.feature: the inventory read back by Ansible's own tool."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytest_bdd import parsers, scenarios, then

scenarios("hpc_inventory.feature")


@then(parsers.parse('ansible-inventory reads "{path}" with these groups:'))
def read_by_ansible(noted, inventory: dict, path: str, datatable) -> None:
    path = path.replace("{tmp}", noted["tmp"])
    tool = Path(sys.executable).parent / "ansible-inventory"
    out = subprocess.run([str(tool), "-i", path, "--list"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "[WARNING]" not in out.stderr, out.stderr
    inventory.update(json.loads(out.stdout))
    header, *rows = datatable
    for group, hosts in rows:
        assert sorted(inventory[group]["hosts"]) == sorted(h.strip() for h in hosts.split(",")), group
    assert sorted(inventory["slurm"]["children"]) == ["slurm_compute", "slurm_controller", "slurm_gpu"]


def _hostvars(inventory: dict, host: str) -> dict:
    return inventory["_meta"]["hostvars"][host]


@then(parsers.parse("in that inventory {host} has ansible_host {ip}, cpus {cpus:d} and memory_mb {memory:d}"))
def host_shape(inventory: dict, host: str, ip: str, cpus: int, memory: int) -> None:
    found = _hostvars(inventory, host)
    assert (found["ansible_host"], found["cpus"], found["memory_mb"]) == (ip, cpus, memory)


@then(parsers.parse('in that inventory {host} has GPU {address} "{model}"'))
def host_gpu(inventory: dict, host: str, address: str, model: str) -> None:
    cards = _hostvars(inventory, host)["gpus"]
    assert [(c["pci_address"], c["model"]) for c in cards] == [(address, model)]
    assert cards[0]["vendor_id"] == "10de"


@then(parsers.parse("in that inventory every host connects as {user} with host key checking on"))
def host_ssh(inventory: dict, state_dir: Path, user: str) -> None:
    for host, found in inventory["_meta"]["hostvars"].items():
        assert found["ansible_user"] == user, host
        assert found["ansible_ssh_private_key_file"] == str(state_dir / "keys" / "platform_ed25519")
        assert "StrictHostKeyChecking=yes" in found["ansible_ssh_common_args"]
        assert f"UserKnownHostsFile={state_dir / 'keys' / 'known_hosts'}" in found["ansible_ssh_common_args"]
