"""GPU moves nobody finishes: ``ai-how reconcile`` settles those whose process is gone.
Done where the target runs and holds the card after its start, failed otherwise (with the
step it stopped before and who holds the card now; a holder that still runs with it gets its
SLURM node resumed). One still being made is left alone."""

from __future__ import annotations

from collections.abc import Callable

from ai_how.app import processes
from ai_how.app.ports import EventStore
from ai_how.domain.gpu import Gpu
from ai_how.domain.gpu_move import STEPS, GpuMove, MoveState
from ai_how.domain.ids import gpu_id, move_id, vm_id
from ai_how.domain.vm import Vm, VmState


def interrupted_moves(store: EventStore) -> list[GpuMove]:
    found = []
    for registered in store.iter_log(event_types=["GpuRegistered"]):
        move = store.get(move_id(store.read(registered.aggregate_id).pci_address))
        if move is not None and move.in_progress and not processes.alive(move.owner):
            found.append(move)
    return found


def settle_moves(store: EventStore, resume_holder: Callable[[GpuMove], str | None]) -> list[str]:
    """``resume_holder``: gives a failed move's holder, still running with the card, back to its scheduler."""
    notes = []
    for move in interrupted_moves(store):
        gpu: Gpu | None = store.get(gpu_id(move.pci_address))
        target: Vm | None = store.get(vm_id(move.target))
        holder = gpu.holder if gpu is not None else None
        if holder == move.target and target is not None and target.state == VmState.RUNNING:
            for step in STEPS:
                move.step_done(step, "recorded by reconcile: the target runs with the card")
            move.finish(0.0)
            notes.append(f"GPU {move.pci_address}: its interrupted move to {move.target} had got there (the target "
                         "runs with the card); recorded as moved")
        else:
            pending = move.next_step or STEPS[-1]
            where = f"held by {holder}" if holder else "free"
            move.fail(pending, f"interrupted before {pending}; the card is {where}")
            notes.append(f"GPU {move.pci_address}: its move to {move.target} was interrupted before {pending} and is "
                         f"recorded as failed; the card is {where}: 'ai-how gpu move {move.pci_address} --to "
                         f"{move.target}' moves it")
        store.save(move)
        if move.state == MoveState.FAILED and (undone := resume_holder(move)):
            notes.append(f"GPU {move.pci_address}: {undone}")
    return notes
