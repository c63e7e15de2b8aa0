"""KServe's InferenceServices through the kubernetes client's custom objects API."""
