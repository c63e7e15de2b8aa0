"""The HPC cluster's shared storage as the CLI shows it, and what a destroy does with it."""

from __future__ import annotations

from typing import Any

from .common import CliState, confirm, console, fail
from .render import size_text


def shared_of(cli: CliState, name: str) -> Any:
    """The cluster's shared storage (host.shared_storage.SharedStorage), measured now, or None."""
    from ai_how.app.host.shared_storage import shared_storage_of

    return shared_storage_of(cli.topology(), cli.hypervisor(), name, cli.guests())


def storage_line(name: str, found: Any) -> str:
    if found.host_path is None:
        where = f"exported by {found.controller} from its own disk"
        if found.used_bytes is None:
            return f"{name}: nfs at {found.mount_point} on every node, {where}; not measured: {found.controller} is " \
                   "not running or does not answer"
    else:
        where = f"from {found.host_path} on this host"
    used = f"{size_text(found.used_bytes)} used" if found.used_bytes is not None else "not made yet"
    return f"{name}: {found.backend} at {found.mount_point} on every node, {where}; {used}, " \
           f"{found.free_bytes / 2**30:,.1f} GiB free"


def before_restore(cli: CliState, cluster: str) -> str:
    """What a restore does to the cluster's shared storage, in a sentence ('' when it has none)."""
    return restore_note(shared_of(cli, cluster))


def restore_note(found: Any) -> str:
    """A host folder is not in the snapshot; NFS storage is on the controller's disk and goes
    back with it, losing what jobs wrote there since."""
    if found is None:
        return ""
    if found.host_path is not None:
        return (f"The shared storage ({found.mount_point}, the host folder {found.host_path}) is not in the snapshot: "
                "it stays as it is.")
    held = f"{size_text(found.used_bytes)} there now" if found.used_bytes is not None else "not measured"
    return (f"The shared storage ({found.mount_point}, nfs) is on {found.controller}'s disk and goes back with it: "
            f"what jobs wrote there since is lost ({held}); copy what you need off first (e.g. 'ai-how model push "
            f"hpc:{found.mount_point}/...').")


def before_destroy(kept: Any, purge: bool, yes: bool) -> None:
    """NFS shared storage is on the controller's disk, which the destroy deletes: refused while
    it may hold files, unless --purge-data (asked)."""
    size = size_text(kept.used_bytes) if kept.used_bytes is not None else "an unknown amount"
    if not purge:
        if kept.files is False:
            return
        held = f"holds {size} of files" if kept.files else f"could not be looked at ({kept.controller} does not answer)"
        raise fail(f"the shared storage of {kept.cluster} (nfs, {kept.mount_point}) is on {kept.controller}'s disk and "
                   f"{held}: destroying the cluster deletes it. Copy what you need off first (e.g. 'ai-how model push "
                   f"hpc:{kept.mount_point}/...'), then run 'ai-how hpc destroy --purge-data'", 1)
    confirm(f"Delete the shared storage of {kept.cluster} with {kept.controller}'s disk ({size})? This cannot be "
            "undone.", yes, "delete the shared storage")


def after_destroy(kept: Any, purge: bool, yes: bool) -> None:
    """The shared storage outlives the VMs: said where it is, or deleted after its own question.
    NFS storage went with the controller's disk (asked before the destroy)."""
    from ai_how.app.host.shared_storage import purge_shared

    if kept.host_path is None:
        if purge or kept.files is False:
            console().print(f"the shared storage of {kept.cluster} went with {kept.controller}'s disk (nfs)")
        return
    size = size_text(kept.used_bytes) if kept.used_bytes is not None else "nothing"
    if not purge:
        console().print(f"kept the shared storage of {kept.cluster} at {kept.host_path} ({size}): a new cluster of "
                        f"that name mounts it again; delete it with 'ai-how hpc destroy --purge-data'")
        return
    confirm(f"Delete {kept.host_path}, the shared storage of {kept.cluster}, with {size} of files on it? This "
            "cannot be undone.", yes, "delete the shared storage")
    purge_shared(kept.host_path)
    console().print(f"deleted the shared storage of {kept.cluster} at {kept.host_path} ({size})")
