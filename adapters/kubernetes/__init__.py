"""The Kubernetes API through the kubernetes client, imported when first used."""
