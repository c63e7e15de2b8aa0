"""Domain errors: refusals by a rule of the model. Each message says what to do next."""


class DomainError(Exception):
    """A command was refused by a domain rule (exit code 1).

    ``hint`` is the next step for the operator, added by whoever knows it.
    """

    hint: str | None = None


class GpuLeasedElsewhere(DomainError):
    def __init__(self, pci_address: str, holder: str, holder_state: str | None = None) -> None:
        self.pci_address = pci_address
        self.holder = holder
        state = f" ({holder_state})" if holder_state else ""
        super().__init__(f"GPU {pci_address} is leased to {holder}{state}")


class NotTheHolder(DomainError):
    def __init__(self, pci_address: str, holder: str | None, requester: str) -> None:
        self.pci_address = pci_address
        self.holder = holder
        self.requester = requester
        if holder is None:
            message = f"GPU {pci_address} is not leased; {requester} has nothing to release"
        else:
            message = (
                f"GPU {pci_address} is leased to {holder}, not {requester}; "
                f"only {holder} can release it"
            )
        super().__init__(message)


class InvalidTransition(DomainError):
    """An aggregate was asked to do something its current state does not allow."""


class IdentityMismatch(DomainError):
    """A natural key is already recorded with different identifying facts."""


class UnknownObject(DomainError):
    """A command named a VM, GPU or cluster that the store has never seen."""


class ClusterNotRunning(DomainError):
    """A cluster (or the VM a command needs in it) is not running."""


class DeployInProgress(DomainError):
    """Another process is deploying the same cluster right now."""


class DrainTimedOut(DomainError):
    """A Kubernetes node still runs pods after the drain's bounded wait: its VM is not stopped."""


class GpusNotAvailable(DomainError):
    """A GPU inference service asks for more GPUs than the Cloud cluster's running workers hold."""


class MoveRefused(DomainError):
    """A GPU move that cannot be made: the target does not configure the card, it is the holder,
    or the holder's jobs did not end within the drain's wait."""


class RedefineRefused(DomainError):
    """A changed config that ``start --redefine`` cannot apply in place: a network, a VM
    removed, an address, an image, a disk to shrink."""


class JobsRunning(DomainError):
    """SLURM jobs run (or wait) on a node a command would stop: refused, the jobs named."""


class SchedulerUnavailable(DomainError):
    """The scheduler that must be asked before a stop does not answer."""


class CpusUnavailable(DomainError):
    """A pinned VM's start cannot get host CPUs no other running pinned VM holds."""


class SnapshotRefused(DomainError):
    """A snapshot that cannot be taken, restored or deleted as asked: its name is taken, a VM's
    guest agent does not answer, it belongs to another cluster, a restore is under way."""
