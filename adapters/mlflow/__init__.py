"""The MLflow model registry, through MLflow's client (imported lazily)."""
