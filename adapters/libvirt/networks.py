"""One NAT network per cluster, with a static DHCP entry binding each VM's MAC to its IP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ai_how.domain.specs import VmPlan

from .connection import HypervisorError, find, libvirt_errors, libvirt_module
from .xml import mac_address, network_name, render_network


def lookup(conn: Any, cluster: str) -> Any | None:
    return find(conn.networkLookupByName, network_name(cluster), "VIR_ERR_NO_NETWORK")


def differences(net: Any, network: dict[str, str]) -> list[str]:
    root = ET.fromstring(net.XMLDesc(0))
    bridge = root.find("bridge")
    ip = root.find("ip")
    found = {"bridge": bridge.get("name") if bridge is not None else None,
             "gateway": ip.get("address") if ip is not None else None,
             "forward": "nat" if root.find("forward") is not None else "none"}
    wanted = {**network, "forward": network.get("forward", "nat")}
    return [f"{key} is {found[key]} but the config gives {wanted[key]}"
            for key in ("bridge", "gateway", "forward") if found[key] != wanted[key]]


def _add_missing_hosts(net: Any, vms: list[VmPlan]) -> None:
    lv = libvirt_module()
    known = {h.get("mac") for h in ET.fromstring(net.XMLDesc(0)).iter("host")}
    flags = lv.VIR_NETWORK_UPDATE_AFFECT_CONFIG
    if net.isActive():
        flags |= lv.VIR_NETWORK_UPDATE_AFFECT_LIVE
    for vm in vms:
        mac = mac_address(vm.name)
        if vm.spec.ip and mac not in known:
            entry = f"<host mac='{mac}' name='{vm.name}' ip='{vm.spec.ip}'/>"
            net.update(lv.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, lv.VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, entry, flags)


def ensure(conn: Any, cluster: str, network: dict[str, str], vms: list[VmPlan]) -> tuple[bool, list[str]]:
    """Returns (created, differences from the config)."""
    name = network_name(cluster)
    with libvirt_errors(f"cannot set up network {name} (bridge {network['bridge']}, {network['subnet']})"):
        net = lookup(conn, cluster)
        created = net is None
        found: list[str] = []
        if net is None:
            net = conn.networkDefineXML(render_network(cluster, network, vms))
            net.setAutostart(True)
        else:
            found = [f"network {name}: {d}" for d in differences(net, network)]
            _add_missing_hosts(net, vms)
        if not net.isActive():
            net.create()
    return created, found


def ensure_active(conn: Any, cluster: str) -> None:
    name = network_name(cluster)
    with libvirt_errors(f"cannot start network {name}"):
        net = lookup(conn, cluster)
        if net is None:
            raise HypervisorError(f"network {name} is missing; run 'ai-how hpc|cloud start CONFIG' to create it again")
        if not net.isActive():
            net.create()


def remove(conn: Any, cluster: str) -> bool:
    with libvirt_errors(f"cannot remove network {network_name(cluster)}"):
        net = lookup(conn, cluster)
        if net is None:
            return False
        if net.isActive():
            net.destroy()
        net.undefine()
        return True
