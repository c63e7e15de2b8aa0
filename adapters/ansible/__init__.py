"""Ansible through ansible-runner: the ``Provisioner`` port (``runner.AnsibleRunnerProvisioner``).

Imported only by the composition root; ansible_runner itself is imported when a run starts.
"""
