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
from ai_how.domain.specs import VmPlan


def _yaml(data: Any, header: str = "") -> str:
    import yaml

    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def user_data(vm: VmPlan, keys: KeyStore) -> str:
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
        "ssh_genkeytypes": [],
        "ssh_keys": {"ed25519_private": host_private, "ed25519_public": host_public},
        "growpart": {"mode": "auto", "devices": ["/"]},
        "resize_rootfs": True,
    }
    if spec.shared_directories:
        data["mounts"] = [[d.tag, d.mount_point, "virtiofs", "defaults,nofail" + (",ro" if d.readonly else ""),
                           "0", "0"] for d in spec.shared_directories]
    for shared in (d for d in spec.shared_directories if d.cluster_storage):
        # The admin user's own folder on the cluster's shared storage, where 'ai-how hpc ssh' starts.
        data["runcmd"] = [["sh", "-c", f"mountpoint -q {shared.mount_point} && install -d -o {spec.login} "
                                       f"-g {spec.login} -m 0755 {shared.mount_point}/{spec.login}"]]
    return _yaml(data, "#cloud-config\n")


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
    documents = {"user-data": user_data(vm, keys), "meta-data": meta_data(vm),
                 "network-config": network_config(vm, network)}
    keys.pin(vm.name, [vm.name, *([vm.spec.ip] if vm.spec.ip else [])])
    return documents


def seeds_for(vms: tuple[VmPlan, ...], network: dict[str, str], keys: KeyStore) -> dict[str, dict[str, str]]:
    """Seeds for the VMs that boot an OS; the others boot to firmware and need none."""
    return {vm.name: seed_documents(vm, network, keys) for vm in vms if vm.spec.has_os}
