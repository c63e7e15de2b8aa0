"""The ``SlurmControl`` port: sinfo, squeue and scontrol on the controller, over SSH."""

from .ssh import SshSlurm

__all__ = ["SshSlurm"]
