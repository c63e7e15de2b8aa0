"""PCI addresses in the kernel's ``domain:bus:device.function`` form (``0000:01:00.0``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PCI_ADDRESS_PATTERN = r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\.[0-7]$"
_PCI_ADDRESS = re.compile(PCI_ADDRESS_PATTERN)
HEX_ID_PATTERN = r"^[0-9a-fA-F]{4}$"


@dataclass(frozen=True, order=True)
class PciAddress:
    domain: int
    bus: int
    device: int
    function: int

    @classmethod
    def parse(cls, text: str) -> PciAddress:
        if not _PCI_ADDRESS.match(text):
            raise ValueError(
                "not a PCI address: expected domain:bus:device.function like 0000:01:00.0 "
                f"(device 00-1f, function 0-7), got {text!r}"
            )
        dom, bus, rest = text.split(":")
        dev, fn = rest.split(".")
        return cls(int(dom, 16), int(bus, 16), int(dev, 16), int(fn, 16))

    @property
    def slot(self) -> str:
        """The slot shared by all functions of one card, e.g. ``0000:01:00``."""
        return f"{self.domain:04x}:{self.bus:02x}:{self.device:02x}"

    @property
    def function_zero(self) -> PciAddress:
        return PciAddress(self.domain, self.bus, self.device, 0)

    def __str__(self) -> str:
        return f"{self.slot}.{self.function:x}"


def normalize_pci_address(text: str) -> str:
    """Canonical lower-case form; raises ``ValueError`` with a readable message."""
    return str(PciAddress.parse(text))


def slot_address(text: str) -> str:
    """The function-0 address of the card that ``text`` belongs to."""
    return str(PciAddress.parse(text).function_zero)
