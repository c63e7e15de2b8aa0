"""A stop's deadline racing the guest's own ACPI shutdown, and a start profile's forced stop
racing a guest that dies as it boots: the domain that went off by itself before the forced stop
is off, not an error (libvirt's real error type); one still running says so."""

from __future__ import annotations

import pytest

from ai_how.adapters.libvirt import domains


class RacingDomain:
    """Runs through the ACPI wait, then is off by the time it is forced off."""

    def __init__(self, off_by_itself: bool) -> None:
        self.off_by_itself, self.active = off_by_itself, True

    def name(self) -> str:
        return "c-compute-01"

    def isActive(self) -> bool:  # noqa: N802 (libvirt's name)
        return self.active

    def state(self) -> list[int]:
        import libvirt

        return [libvirt.VIR_DOMAIN_RUNNING, 0]

    def shutdown(self) -> None:
        return None

    def destroy(self) -> None:
        import libvirt

        if self.off_by_itself:
            self.active = False
        raise libvirt.libvirtError("Requested operation is not valid: domain is not running")


def test_a_guest_that_shuts_down_as_it_is_forced_off_is_stopped() -> None:
    assert domains.shutdown(RacingDomain(off_by_itself=True), 0.05) == "acpi"


def test_a_forced_stop_that_really_fails_says_so() -> None:
    with pytest.raises(domains.HypervisorError, match="cannot stop c-compute-01"):
        domains.shutdown(RacingDomain(off_by_itself=False), 0.05)


def test_a_guest_that_dies_as_it_is_forced_off_is_off() -> None:
    from ai_how.adapters.libvirt.hypervisor import LibvirtHypervisor

    assert domains.force_off(RacingDomain(off_by_itself=True)) is False
    LibvirtHypervisor._force_off(None, RacingDomain(off_by_itself=True))  # type: ignore[arg-type]
    with pytest.raises(domains.HypervisorError, match="cannot force c-compute-01 off"):
        LibvirtHypervisor._force_off(None, RacingDomain(off_by_itself=False))  # type: ignore[arg-type]
