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


def _vm(acceleration=None):
    from ai_how.domain.specs import VmPlan, VmSpec

    return VmPlan("v", "c", "compute", VmSpec(1, 1, 4, "10.0.0.5", acceleration=acceleration))


def _hypervisor(tmp_path, profiles=None):
    from ai_how.adapters.libvirt.hypervisor import LibvirtHypervisor

    kvm_host = "<capabilities><guest><arch><domain type='qemu'/><domain type='kvm'/></arch></guest></capabilities>"
    hv = LibvirtHypervisor("test:///default", tmp_path, profiles=profiles, memory=tmp_path / "start-profile")
    hv.profiles._capabilities = lambda: kvm_host  # a host with KVM, without asking one
    return hv


def test_the_profiles_go_from_the_host_cpu_to_tcg(tmp_path) -> None:
    assert [p.name for p in _hypervisor(tmp_path).profiles_for(_vm())] == [
        "kvm host-passthrough", "kvm host-model", "tcg"]


def test_acceleration_narrows_the_profiles(tmp_path) -> None:
    from ai_how.domain.specs import Acceleration

    hv = _hypervisor(tmp_path)
    assert [p.name for p in hv.profiles_for(_vm(Acceleration(enable_kvm=False)))] == ["tcg"]
    named = hv.profiles_for(_vm(Acceleration(cpu_model="Skylake-Server")))
    assert [(p.domain_type, p.cpu_mode) for p in named] == [("kvm", "Skylake-Server"), ("qemu", "Skylake-Server")]


def test_the_profile_that_worked_is_remembered_and_a_test_death_is_not(tmp_path) -> None:
    from ai_how.adapters.libvirt.profiles import NAMED, PROFILES

    hv = _hypervisor(tmp_path)
    hv.profiles.remember(NAMED["doomed"])
    assert not (tmp_path / "start-profile").exists()
    hv.profiles.remember(PROFILES[2])
    assert (tmp_path / "start-profile").read_text() == "tcg\n"
    assert oct((tmp_path / "start-profile").stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in hv.profiles_for(_vm())] == ["tcg"]


def test_start_profiles_from_the_environment_are_checked() -> None:
    from ai_how.adapters.libvirt.profiles import parse_profiles
    from ai_how.app.errors import UsageError

    assert [p.name for p in parse_profiles("doomed, tcg")] == ["doomed (test)", "tcg"]
    with pytest.raises(UsageError, match="unknown start profile 'fast'"):
        parse_profiles("fast")


def test_the_console_folder_is_made_when_libvirtd_has_not_made_it_yet(tmp_path, monkeypatch) -> None:
    """On a new host libvirtd makes /var/log/libvirt/qemu only at its first domain start, and a
    guest whose serial console logs there could not start before it."""
    from ai_how.adapters.libvirt import domains

    folder = tmp_path / "log" / "libvirt" / "qemu"
    monkeypatch.setattr(domains, "QEMU_LOG_DIR", folder)
    domains.ensure_console_folder()
    assert folder.is_dir()
    domains.ensure_console_folder()  # and again: nothing to do
