"""cloud-init seeds and SSH keys, on real files and OpenSSH's ssh-keygen (no VM)."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import yaml

from ai_how.adapters.imaging.seed import write_seed_iso
from ai_how.adapters.ssh.keys import SshKeys
from ai_how.app.guests.seeds import seed_documents, seeds_for
from ai_how.domain.ids import mac_address
from ai_how.domain.specs import SharedDirectory, VmPlan, VmSpec

NETWORK = {"subnet": "10.9.8.0/24", "bridge": "br-x", "gateway": "10.9.8.1"}


def _vm(name: str = "c-controller", **spec) -> VmPlan:
    base = {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 4, "ip": "10.9.8.10", "base_image_path": "/images/x.qcow2"}
    return VmPlan(name, "c", "controller", VmSpec(**{**base, **spec}))


def test_a_seed_configures_name_login_keys_and_a_static_address(tmp_path: Path) -> None:
    keys = SshKeys(tmp_path / "state")
    vm = _vm(shared_directories=(SharedDirectory("data", "/srv/data", "/data", readonly=True),))
    docs = seed_documents(vm, NETWORK, keys)
    user = yaml.safe_load(docs["user-data"])
    assert docs["user-data"].startswith("#cloud-config\n")
    assert user["hostname"] == "c-controller"
    _, platform_public = keys.platform_key()
    assert user["users"][0]["name"] == "aihow"
    assert user["users"][0]["ssh_authorized_keys"] == [platform_public]
    host_private, host_public = keys.host_key("c-controller")
    assert user["ssh_keys"] == {"ed25519_private": host_private, "ed25519_public": host_public}
    assert user["ssh_genkeytypes"] == ["ed25519"] and user["ssh_pwauth"] is False
    assert user["mounts"] == [["data", "/data", "virtiofs", "defaults,nofail,ro", "0", "0"]]
    net = yaml.safe_load(docs["network-config"])["ethernets"]["eth0"]
    assert net["match"] == {"macaddress": mac_address("c-controller")}
    assert net["addresses"] == ["10.9.8.10/24"]
    assert net["routes"] == [{"to": "0.0.0.0/0", "via": "10.9.8.1"}]
    assert net["nameservers"]["addresses"] == ["10.9.8.1"]
    assert yaml.safe_load(docs["meta-data"])["local-hostname"] == "c-controller"
    assert keys.known_hosts.read_text() == f"c-controller,10.9.8.10 {' '.join(host_public.split()[:2])}\n"


def test_an_isolated_network_gives_no_route_out_and_dns_as_configured(tmp_path: Path) -> None:
    network = {**NETWORK, "forward": "none", "dns": "10.9.8.53", "search": "lab.example"}
    net = yaml.safe_load(seed_documents(_vm(admin_user="ops"), network, SshKeys(tmp_path))["network-config"])
    nic = net["ethernets"]["eth0"]
    assert "routes" not in nic
    assert nic["nameservers"] == {"addresses": ["10.9.8.53"], "search": ["c.local", "lab.example"]}


def test_keys_are_made_once_and_kept_private(tmp_path: Path) -> None:
    keys = SshKeys(tmp_path / "state")
    assert keys.host_key("a") == keys.host_key("a")
    assert keys.platform_key() == keys.platform_key()
    for path in (tmp_path / "state" / "keys").rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
        elif not path.name.endswith(".pub"):
            assert mode == 0o600, path
    keys.pin("a", ["a", "10.0.0.5"])
    keys.pin("b", ["b"])
    keys.forget("a")
    assert [line.split()[0] for line in keys.known_hosts.read_text().splitlines()] == ["b"]
    assert not (tmp_path / "state" / "keys" / "hosts" / "a").exists()


def test_a_vm_without_an_image_gets_no_seed(tmp_path: Path) -> None:
    blank = _vm("blank", base_image_path=None)
    assert seeds_for((blank, _vm()), NETWORK, SshKeys(tmp_path)).keys() == {"c-controller"}


def test_the_seed_iso_is_a_cidata_volume_readable_by_cloud_init(tmp_path: Path) -> None:
    iso = tmp_path / "pool" / "vm-seed.iso"
    write_seed_iso(iso, {"user-data": "#cloud-config\nhostname: x\n", "meta-data": "instance-id: x\n"})
    assert stat.S_IMODE(iso.stat().st_mode) == 0o600
    listing = subprocess.run(["xorriso", "-indev", str(iso), "-pvd_info", "-ls"], capture_output=True, text=True)
    assert "Volume Id    : cidata" in listing.stdout
    assert "'user-data'" in listing.stdout and "'meta-data'" in listing.stdout
    assert [p.name for p in iso.parent.iterdir()] == ["vm-seed.iso"]  # no scratch left behind


def test_forgetting_a_vm_that_never_had_keys_changes_nothing(tmp_path: Path) -> None:
    keys = SshKeys(tmp_path / "state")
    keys.forget("blank")
    assert not (tmp_path / "state").exists()


def test_the_cluster_s_shared_storage_is_mounted_and_gives_the_admin_user_a_folder(tmp_path: Path) -> None:
    from ai_how.domain.specs import SHARED_TAG

    vm = _vm(shared_directories=(SharedDirectory(SHARED_TAG, "", "/shared"),
                                 SharedDirectory("data", "/srv/data", "/data", readonly=True)))
    user = yaml.safe_load(seed_documents(vm, NETWORK, SshKeys(tmp_path / "state"))["user-data"])
    assert user["mounts"] == [[SHARED_TAG, "/shared", "virtiofs", "defaults,nofail", "0", "0"],
                              ["data", "/data", "virtiofs", "defaults,nofail,ro", "0", "0"]]
    assert user["runcmd"] == [["sh", "-c", "mountpoint -q /shared && install -d -o aihow -g aihow -m 0755 "
                                           "/shared/aihow"]]


def test_an_nfs_controller_exports_the_shared_storage_and_a_compute_mounts_it_on_first_use(tmp_path: Path) -> None:
    from ai_how.domain.specs import SHARED_TAG

    keys = SshKeys(tmp_path / "state")
    controller = _vm(shared_directories=(SharedDirectory(SHARED_TAG, "", "/srv/shared", backend="nfs"),))
    user = yaml.safe_load(seed_documents(controller, NETWORK, keys)["user-data"])
    assert "mounts" not in user
    assert user["write_files"] == [{"path": "/etc/exports.d/ai-how-shared.exports", "permissions": "0644",
                                    "content": "/srv/shared 10.9.8.0/24(rw,sync,no_subtree_check)\n"}]
    assert user["runcmd"] == [["sh", "-c", "install -d -m 0755 /srv/shared && install -d -o aihow -g aihow -m 0755 "
                                           "/srv/shared/aihow"], ["systemctl", "enable", "--now", "nfs-server"]]

    compute = _vm("c-compute-01", ip="10.9.8.11", shared_directories=(
        SharedDirectory(SHARED_TAG, "", "/srv/shared", backend="nfs", server="10.9.8.10"),))
    user = yaml.safe_load(seed_documents(compute, NETWORK, keys)["user-data"])
    assert user["mounts"] == [["10.9.8.10:/srv/shared", "/srv/shared", "nfs",
                               "rw,hard,noauto,_netdev,x-systemd.automount,x-systemd.mount-timeout=180", "0", "0"]]
    assert user["runcmd"] == [["systemctl", "daemon-reload"], ["systemctl", "start", "srv-shared.automount"]]
    assert "write_files" not in user


def test_a_host_folder_s_owner_mode_and_options_reach_the_guest_s_mount(tmp_path: Path) -> None:
    """The predecessor's virtio_fs_mounts keys: the options join ai-how's own in the fstab entry
    (once each); a read-write folder is given its owner, group and mode once mounted; a
    read-only one keeps the host's (validate warns)."""
    vm = _vm(shared_directories=(
        SharedDirectory("work", "/srv/work", "/work", owner="aihow", group="users", mode="0775", options="noatime,nofail"),
        SharedDirectory("data", "/srv/data", "/data", readonly=True, owner="aihow", mode="0755", options="ro,relatime")))
    user = yaml.safe_load(seed_documents(vm, NETWORK, SshKeys(tmp_path / "state"))["user-data"])
    assert user["mounts"] == [["work", "/work", "virtiofs", "defaults,nofail,noatime", "0", "0"],
                              ["data", "/data", "virtiofs", "defaults,nofail,ro,relatime", "0", "0"]]
    assert user["runcmd"] == [["sh", "-c", "mountpoint -q /work && chown aihow:users /work && chmod 0775 /work"]]
