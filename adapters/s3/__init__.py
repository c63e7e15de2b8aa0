"""An S3 store (MinIO) for model files, through boto3 (imported lazily)."""
