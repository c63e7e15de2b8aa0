"""A stop's deadline racing the guest's own ACPI shutdown: the domain that went off by itself
between the deadline and the forced stop is stopped, not an error (libvirt's real error type)."""

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
