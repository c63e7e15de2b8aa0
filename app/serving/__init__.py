"""Models and inference services: KServe InferenceServices on the Cloud cluster, their
manifests, the GPU check against the leases, and what the cluster reports of them. Exports
``COMMAND_HANDLERS`` for the composition root, the manifest builder and the GPU check."""
