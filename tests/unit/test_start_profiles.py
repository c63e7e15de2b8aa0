"""Which libvirt start failures make the adapter try a less demanding domain profile."""

from __future__ import annotations

import pytest

from ai_how.adapters.libvirt.domains import is_cpu_model_refusal, is_kvm_refusal

KVM_DENIED = ("internal error: qemu unexpectedly closed the monitor: Could not access KVM kernel module: "
              "Permission denied\nqemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied")
MSR = ("internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: error: failed to set MSR 0x10a "
       "to 0x400000000c000069")


def test_a_kvm_refusal_is_recognised() -> None:
    assert is_kvm_refusal(KVM_DENIED)
    assert not is_kvm_refusal(MSR)


@pytest.mark.parametrize("message", [MSR, "internal error: process exited while connecting to monitor"])
def test_cpu_model_refusals_are_recognised(message: str) -> None:
    assert is_cpu_model_refusal(message)


@pytest.mark.parametrize("message", [
    "Requested operation is not valid: network 'aihow-x' is not active",
    "unsupported configuration: host doesn't support passthrough of host PCI devices",
    "Cannot access storage file '/images/base.qcow2': No such file or directory",
])
def test_other_failures_are_not_hidden_by_a_fallback(message: str) -> None:
    assert not is_kvm_refusal(message) and not is_cpu_model_refusal(message)
