"""cloud-init NoCloud documents for one VM: ``user-data``, ``meta-data``, ``network-config``.

Built as data and written as YAML, never by string edits. The VM's host key is made here
(through the key store) and pinned in known_hosts before the VM first boots, so the first
connection already checks it. The documents hold that private key: the seed is written 0600
and lives beside the VM's disk, never in an event.
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Network
from typing import Any

from ai_how.app.ports import KeyStore
from ai_how.domain.ids import mac_address
from ai_how.domain.specs import SharedDirectory, VmPlan


def _yaml(data: Any, header: str = "") -> str:
    import yaml

    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def user_data(vm: VmPlan, keys: KeyStore, subnet: str) -> str:
    """``subnet``: the cluster's network, to which an NFS controller exports the shared storage."""
    _, platform_public = keys.platform_key()
    host_private, host_public = keys.host_key(vm.name)
    spec = vm.spec
    data: dict[str, Any] = {
        "hostname": vm.name,
        "fqdn": f"{vm.name}.{vm.cluster}.local",
        "manage_etc_hosts": True,
        "users": [{"name": spec.login, "groups": ["sudo"], "sudo": "ALL=(ALL) NOPASSWD:ALL", "shell": "/bin/bash",
                   "lock_passwd": True, "ssh_authorized_keys": [platform_public]}],
        "disable_root": True,
        "ssh_pwauth": False,
        "ssh_deletekeys": True,
        "ssh_genkeytypes": ["ed25519"],  # the key ssh_keys gives: none is made ([] fails the schema)
        "ssh_keys": {"ed25519_private": host_private, "ed25519_public": host_public},
        "growpart": {"mode": "auto", "devices": ["/"]},
        "resize_rootfs": True,
    }
    mounts = [_fstab(d) for d in spec.shared_directories if not d.exported]
    if mounts:
        data["mounts"] = mounts
    for shared in spec.shared_directories:
        steps = _cluster_storage(shared, spec.login, subnet) if shared.cluster_storage else _ownership(shared)
        for key, items in steps.items():
            data.setdefault(key, []).extend(items)
    return _yaml(data, "#cloud-config\n")


def _fstab(folder: SharedDirectory) -> list[str]:
    if folder.from_host:
        options = ["defaults", "nofail", *(["ro"] if folder.readonly else []), *folder.options.split(",")]
        return [folder.tag, folder.mount_point, "virtiofs", ",".join(dict.fromkeys(o for o in options if o)), "0", "0"]
    # Mounted on first use, so a compute that boots before its controller exports does not
    # wait for it at boot; a hard mount, as for every NFS home: I/O waits out a controller reboot.
    return [f"{folder.server}:{folder.mount_point}", folder.mount_point, "nfs",
            "rw,hard,noauto,_netdev,x-systemd.automount,x-systemd.mount-timeout=180", "0", "0"]


def _ownership(folder: SharedDirectory) -> dict[str, Any]:
    """A read-write folder's owner, group and mode as the config writes them, once it is mounted
    (virtiofs passes them through to the host's folder). A read-only one keeps the host's."""
    if folder.readonly or not (folder.owner or folder.group or folder.mode):
        return {}
    who = folder.owner + (f":{folder.group}" if folder.group else "")
    steps = [f"mountpoint -q {folder.mount_point}"]
    steps += [f"chown {who} {folder.mount_point}"] if who else []
    steps += [f"chmod {folder.mode} {folder.mount_point}"] if folder.mode else []
    return {"runcmd": [["sh", "-c", " && ".join(steps)]]}


def _cluster_storage(shared: SharedDirectory, login: str, subnet: str) -> dict[str, Any]:
    """The cluster's shared storage at first boot. The admin user's own folder on it, where
    'ai-how hpc ssh' starts, is made by the node that holds the data: any node for virtiofs
    (the host's folder), the controller for NFS, which also exports it to the cluster's network;
    an NFS compute turns on the automount cloud-init's fstab entry asks for."""
    mount = shared.mount_point
    user_folder = f"install -d -o {login} -g {login} -m 0755 {mount}/{login}"
    if shared.from_host:
        return {"runcmd": [["sh", "-c", f"mountpoint -q {mount} && {user_folder}"]]}
    if shared.exported:
        return {"write_files": [{"path": "/etc/exports.d/ai-how-shared.exports", "permissions": "0644",
                                 "content": f"{mount} {subnet}(rw,sync,no_subtree_check)\n"}],
                "runcmd": [["sh", "-c", f"install -d -m 0755 {mount} && {user_folder}"],
                           ["systemctl", "enable", "--now", "nfs-server"]]}
    return {"runcmd": [["systemctl", "daemon-reload"], ["systemctl", "start", f"{_escaped(mount)}.automount"]]}


def _escaped(path: str) -> str:
    """``systemd-escape --path``: the unit name of a mount point."""
    name = path.strip("/")
    return "".join("-" if c == "/" else c if (c.isascii() and c.isalnum()) or (c in ":_." and (i or c != "."))
                   else f"\\x{ord(c):02x}" for i, c in enumerate(name)) or "-"


def meta_data(vm: VmPlan) -> str:
    # Stable per VM and image: cloud-init runs its once-per-instance steps on the first boot only.
    instance = hashlib.sha256(f"{vm.name}:{vm.spec.base_image_path}".encode()).hexdigest()[:12]
    return _yaml({"instance-id": f"{vm.name}-{instance}", "local-hostname": vm.name})


def network_config(vm: VmPlan, network: dict[str, str]) -> str:
    """A static address from the config (DHCP without one); a default route only where the
    network forwards (an isolated network gives its guests no route out)."""
    nic: dict[str, Any] = {"match": {"macaddress": mac_address(vm.name)}, "set-name": "eth0"}
    subnet = IPv4Network(network["subnet"])
    if vm.spec.ip:
        nic["addresses"] = [f"{vm.spec.ip}/{subnet.prefixlen}"]
        if network.get("forward", "nat") != "none":
            nic["routes"] = [{"to": "0.0.0.0/0", "via": network["gateway"]}]
    else:
        nic["dhcp4"] = True
    servers = network.get("dns", "").split(",") if network.get("dns") else [network["gateway"]]
    nic["nameservers"] = {"addresses": servers, "search": [f"{vm.cluster}.local",
                                                           *filter(None, network.get("search", "").split(","))]}
    return _yaml({"version": 2, "ethernets": {"eth0": nic}})


def seed_documents(vm: VmPlan, network: dict[str, str], keys: KeyStore) -> dict[str, str]:
    """The VM's seed, with its host key pinned for its name and address."""
    documents = {"user-data": user_data(vm, keys, network["subnet"]), "meta-data": meta_data(vm),
                 "network-config": network_config(vm, network)}
    keys.pin(vm.name, [vm.name, *([vm.spec.ip] if vm.spec.ip else [])])
    return documents


def seeds_for(vms: tuple[VmPlan, ...], network: dict[str, str], keys: KeyStore) -> dict[str, dict[str, str]]:
    """Seeds for the VMs that boot an OS; the others boot to firmware and need none."""
    return {vm.name: seed_documents(vm, network, keys) for vm in vms if vm.spec.has_os}
