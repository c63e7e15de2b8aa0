"""A ``DiskSnapshots`` for libvirt's test driver, which refuses disk-only snapshots ("unsupported
flags"): each VM's disk chain as file names in memory, its guest agent answering or not.

It keeps what the real adapter must keep: a layer is never written once frozen, a restore only
touches a shut-off VM, a merge folds the one layer on a file into it. The real adapter
(adapters/libvirt/snapshots.py) runs against the real libvirtd in
tests/integration/test_snapshots.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import DiskSnapshots, DomainState, TakenDisk


@dataclass
class FakeDiskSnapshots(DiskSnapshots):
    state_of: object = None  # VM name -> DomainState, from the test driver
    tops: dict[str, str] = field(default_factory=dict)  # VM -> the file it writes to
    backing: dict[str, str | None] = field(default_factory=dict)  # file -> the file under it
    data: dict[str, str] = field(default_factory=dict)  # file -> what was written into it last
    silent_agents: set[str] = field(default_factory=set)
    frozen_now: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)  # ("freeze"|"take"|"thaw"|..., VM)
    fail_restore_of: str | None = None  # the VM whose restore dies, as a process killed there would
    fail_take_of: str | None = None  # the VM whose snapshot libvirt refuses

    def _top(self, vm: str) -> str:
        return self.tops.setdefault(vm, f"/pool/{vm}.qcow2")

    def _running(self, vm: str) -> bool:
        return self.state_of is not None and self.state_of(vm) == DomainState.RUNNING  # type: ignore[operator]

    def write(self, vm: str, content: str) -> None:
        """What the guest writes goes to its top file."""
        self.data[self._top(vm)] = content

    def read(self, vm: str) -> str | None:
        """What the guest reads: the first file of its chain that was written."""
        path: str | None = self._top(vm)
        while path is not None:
            if path in self.data:
                return self.data[path]
            path = self.backing.get(path)
        return None

    def freeze(self, vm: str) -> str | None:
        self.calls.append(("freeze", vm))
        if vm in self.silent_agents:
            return "Guest agent is not responding: QEMU guest agent is not connected"
        self.frozen_now.add(vm)
        return None

    def thaw(self, vm: str) -> None:
        self.calls.append(("thaw", vm))
        self.frozen_now.discard(vm)

    def take(self, vm: str, snapshot: str) -> TakenDisk:
        self.calls.append(("take", vm))
        if vm == self.fail_take_of:
            raise InfrastructureError(f"cannot snapshot the disk of {vm}: No space left on device")
        frozen = self._top(vm)
        top = f"/pool/{vm}@{snapshot}.qcow2"
        self.backing[top] = frozen
        self.tops[vm] = top
        return TakenDisk(frozen, top)

    def restore(self, vm: str, frozen: str, top: str) -> None:
        self.calls.append(("restore", vm))
        if self._running(vm):
            raise InfrastructureError(f"{vm} runs: its disk is put back only while it is shut off")
        if vm == self.fail_restore_of:
            self.fail_restore_of = None
            raise InfrastructureError(f"killed while restoring {vm}")
        self.backing[top] = frozen
        self.data.pop(top, None)
        self.tops[vm] = top

    def merge(self, vm: str, frozen: str) -> str | None:
        self.calls.append(("merge", vm))
        children = [f for f, below in self.backing.items() if below == frozen]
        if len(children) != 1:
            return None
        child = children[0]
        if child in self.data:
            self.data[frozen] = self.data.pop(child)
        for path, below in list(self.backing.items()):
            if below == child:
                self.backing[path] = frozen
        del self.backing[child]
        if self.tops.get(vm) == child:
            self.tops[vm] = frozen
        return child

    def remove_unused(self, vm: str, keep: set[str]) -> list[str]:
        needed: set[str] = set()
        for path in [self._top(vm), *keep]:
            while path is not None and path not in needed:
                needed.add(path)
                path = self.backing.get(path)  # type: ignore[assignment]
        gone = [f for f in self.backing if f.startswith(f"/pool/{vm}@") and f not in needed]
        for path in gone:
            del self.backing[path]
            self.data.pop(path, None)
        return gone

    def size(self, paths: list[str]) -> int:
        return 1024 * 1024 * len(paths)
