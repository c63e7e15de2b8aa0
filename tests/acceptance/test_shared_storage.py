"""Steps for features/shared_storage.feature: the real CLI, bus and libvirt adapter on libvirt's
test driver; the host folder is a real folder under the scenario's pool root."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from pytest_bdd import given, parsers, scenarios, then

from ai_how.adapters.libvirt import LibvirtHypervisor

scenarios("shared_storage.feature")


def _rewrite(config_path: list[str], change) -> None:
    path = Path(config_path[-1])
    doc = yaml.safe_load(path.read_text())
    change(doc["clusters"]["hpc"])
    path.write_text(yaml.safe_dump(doc))


@given(parsers.parse("the disk under the shared storage has {mib:d} MiB free"))
def full_disk(monkeypatch, mib: int) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**40, 2**40 - mib * 2**20, mib * 2**20))


@given("its shared storage turned off")
def turned_off(config_path: list[str]) -> None:
    _rewrite(config_path, lambda hpc: hpc.setdefault("storage", {}).update(shared={"enabled": False}))


@given(parsers.parse("its shared storage set to {setting}"))
def set_to(tmp_path: Path, config_path: list[str], setting: str) -> None:
    key, _, rest = setting.partition(": ")
    value, _, also = rest.partition(", and a virtio_fs_mounts at ")
    value = value.replace("{tmp}", str(tmp_path))
    if key == "host_path" and not value.endswith("/folder"):
        Path(value).write_text("not a folder")

    def change(hpc: dict) -> None:
        hpc.setdefault("storage", {}).setdefault("shared", {})[key] = value
        if also:
            hpc["controller"]["virtio_fs_mounts"] = [{"tag": "data", "host_path": str(tmp_path),
                                                      "mount_point": also}]
    _rewrite(config_path, change)


def _shares(libvirt_uri: str, name: str) -> list[tuple[str, str, str]]:
    dom = LibvirtHypervisor(libvirt_uri, Path("/unused")).conn.lookupByName(name)
    root = ET.fromstring(dom.XMLDesc())
    return [(fs.find("driver").get("type"), fs.find("source").get("dir"), fs.find("target").get("dir"))
            for fs in root.iter("filesystem")]


@then(parsers.parse('the domains {first}, {second} and {third} share {folder} by virtiofs as "{tag}"'))
def shared_by_all(libvirt_uri: str, noted: dict, first: str, second: str, third: str, folder: str, tag: str) -> None:
    folder = folder.replace("{pools}", noted["pools"])
    for name in (first, second, third):
        assert _shares(libvirt_uri, name) == [("virtiofs", folder, tag)], name
    assert Path(folder).is_dir()


@then(parsers.parse("the domain {name} shares no folder"))
def shares_nothing(libvirt_uri: str, name: str) -> None:
    assert _shares(libvirt_uri, name) == []


@then(parsers.parse('its JSON has backend "{backend}", mount_point "{mount}" and host_path "{host}", with bytes used '
                    'and free'))
def storage_json(result, noted: dict, backend: str, mount: str, host: str) -> None:
    found = json.loads(result.stdout)
    assert (found["backend"], found["mount_point"], found["host_path"]) == \
        (backend, mount, host.replace("{pools}", noted["pools"]))
    assert isinstance(found["used_bytes"], int) and found["free_bytes"] > 0


def _folder(noted: dict) -> Path:
    return Path(noted["pools"]) / "shared" / "mini-hpc"


@given(parsers.parse('a job wrote "{name}" in the shared storage'))
def job_wrote(noted: dict, name: str) -> None:
    (_folder(noted) / "aihow").mkdir(exist_ok=True)
    (_folder(noted) / "aihow" / name).write_bytes(b"weights" * 1000)


@then(parsers.parse('"{name}" is still in the shared storage'))
def still_there(noted: dict, name: str) -> None:
    assert (_folder(noted) / "aihow" / name).read_bytes() == b"weights" * 1000


@then("the shared storage is gone")
def gone(noted: dict) -> None:
    assert not _folder(noted).exists()


@given("its controller without an ip")
def no_controller_ip(config_path: list[str]) -> None:
    _rewrite(config_path, lambda hpc: hpc["controller"].pop("ip"))


@then("no folder of the shared storage is on the host")
def no_host_folder(noted: dict) -> None:
    assert not (Path(noted["pools"]) / "shared").exists()


@then(parsers.parse('its JSON has backend "{backend}", mount_point "{mount}", no host_path and controller '
                    '"{controller}"'))
def nfs_json(result, backend: str, mount: str, controller: str) -> None:
    found = json.loads(result.stdout)
    assert (found["backend"], found["mount_point"], found["host_path"], found["controller"]) == \
        (backend, mount, None, controller)


@given("the controller's shared folder holds files")
def controller_holds_files(fake_guests) -> None:
    """What the controller's du, df and find answer: 1 MiB of files, 2 GB free."""
    from ai_how.app.host.shared_storage import measure_command

    fake_guests.canned[tuple(measure_command("/shared"))] = "1048576\n2000000000\n1\n"
