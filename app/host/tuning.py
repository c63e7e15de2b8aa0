"""``host check`` for what ``hardware.acceleration`` asks of this machine: nested virtualisation
allowed by the KVM module, the CPU features the guests are to get, and host CPUs enough for the
vCPUs the config pins (beside those running pinned VMs hold)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ai_how.app.ports import PciHost
from ai_how.domain.cpus import cpu_list, has_flag

from .checks import Check

if TYPE_CHECKING:
    from ai_how.app.config.plan import PlannedCluster

NESTED_FIX = ("with no VM running: echo 'options {module} nested=1' > /etc/modprobe.d/kvm-nested.conf; "
              "modprobe -r {module}; modprobe {module}")


def feature_checks(host: PciHost, clusters: list[PlannedCluster]) -> list[Check]:
    checks: list[Check] = []
    accelerations = {c.name: vm.plan.spec.acceleration for c in clusters for vm in c.vms if vm.plan.spec.acceleration}
    flags = host.cpu_flags()
    nested = sorted(name for name, a in accelerations.items() if a.nested)
    if nested:
        allowed, module = host.kvm_nested(), "kvm_intel" if "vmx" in flags else "kvm_amd"
        if allowed:
            checks.append(Check("pass", "nested", f"{module} lets the guests of {', '.join(nested)} run VMs"))
        else:
            why = "is not loaded" if allowed is None else "has nested=0"
            asks = "asks" if len(nested) == 1 else "ask"
            checks.append(Check("warn", "nested", f"{', '.join(nested)} {asks} for enable_nested, but {module} {why}: "
                                "the guests get no vmx/svm", NESTED_FIX.format(module=module)))
    for cluster, wanted in sorted(accelerations.items()):
        lacking = sorted({f for f in wanted.features if f[0] == "+" and not has_flag(flags, f[1:])})
        if lacking:
            checks.append(Check("warn", "cpu_features", f"this host's CPU lacks {', '.join(lacking)} ({cluster}): left "
                                "out of the guests' CPU at each start"))
    return checks


def pinning_checks(clusters: list[PlannedCluster], layout: dict[int, list[int]], topology: Any) -> list[Check]:
    """The config's pinned vCPUs against the host's CPUs, less those other running pinned VMs hold."""
    names = {vm.name for c in clusters for vm in c.vms}
    wanted = {vm.name: vm.plan.spec.cpu_cores for c in clusters for vm in c.vms
              if vm.plan.spec.cpu_pinning and vm.plan.spec.auto_start}
    if not wanted:
        return []
    every = [cpu for cpus in layout.values() for cpu in cpus]
    held = {name: vm["pins"]["cpus"] for name, vm in topology.vms.items() if vm.get("pins") and name not in names}
    free = len(every) - sum(len(c) for c in held.values())
    need = sum(wanted.values())
    others = "; " + ", ".join(f"{n} holds {cpu_list(c)}" for n, c in sorted(held.items())) if held else ""
    message = (f"{need} pinned vCPUs ({', '.join(f'{n}: {c}' for n, c in sorted(wanted.items()))}) on "
               f"{len(every)} host CPUs, {free} free{others}")
    if need > free:
        return [Check("fail", "cpu pinning", message, "pin fewer vCPUs (cpu_cores), stop a pinned VM, or give the "
                      "cluster performance.cpu_pinning: false")]
    return [Check("pass", "cpu pinning", message)]
