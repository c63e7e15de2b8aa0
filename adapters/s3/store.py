"""The ``ObjectStore`` port: uploads through boto3, each object then checked against the file.

S3 computes an object's ETag from the bytes it received: the MD5 of the body for a single
PUT, the MD5 of the parts' MD5s and ``-N`` for a multipart upload. ai-how computes the same
from the local file with the same part size, so a body changed on its way is caught without
reading it back. The file's SHA-256 goes along as object metadata (``sha256``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

from ai_how.app.errors import ChecksumMismatch, InfrastructureError, UsageError
from ai_how.app.ports import LocalFile, ObjectStore, S3Access, StoredObject

PART = 8 * 1024 * 1024  # multipart threshold and part size (S3's minimum part is 5 MiB)


def _client(access: S3Access) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2, "mode": "standard"},
                    connect_timeout=5, read_timeout=120, request_checksum_calculation="when_required",
                    response_checksum_validation="when_required")
    return boto3.client("s3", endpoint_url=access.endpoint, aws_access_key_id=access.access_key,
                        aws_secret_access_key=access.secret_key, region_name="us-east-1", config=config)


def part_size(size: int) -> int:
    """The part size s3transfer uses for a file of ``size`` bytes (at most 10,000 parts)."""
    from s3transfer.utils import ChunksizeAdjuster

    return ChunksizeAdjuster().adjust_chunksize(PART, size)


def expected_etag(path: Path, size: int) -> str:
    if size < PART:
        return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
    chunk = part_size(size)
    digests = []
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digests.append(hashlib.md5(block, usedforsecurity=False).digest())
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def _failure(exc: Exception, access: S3Access, bucket: str) -> Exception:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, EndpointConnectionError):
        return InfrastructureError(f"the S3 store at {access.endpoint} does not answer; check --s3-endpoint")
    if isinstance(exc, NoCredentialsError):
        return UsageError("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404"):
            return UsageError(f"the S3 store at {access.endpoint} has no bucket {bucket!r}: create it, or give "
                              "--bucket")
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            return InfrastructureError(f"the S3 store at {access.endpoint} refused access to bucket {bucket!r} "
                                       f"({code}): check the credentials")
        return InfrastructureError(f"the S3 store at {access.endpoint} failed: {code or exc}")
    return InfrastructureError(f"the S3 store at {access.endpoint} failed: {type(exc).__name__}: {exc}")


def _stored(client: Any, bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def _matches(head: dict[str, Any] | None, file: LocalFile, etag: str) -> bool:
    return head is not None and head.get("ContentLength") == file.size and head.get("ETag", "").strip('"') == etag


class S3ObjectStore(ObjectStore):
    def upload_verified(self, access: S3Access, bucket: str, prefix: str,
                        files: Sequence[LocalFile]) -> list[StoredObject]:
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        transfer = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, use_threads=False)
        client = _client(access)
        stored: list[StoredObject] = []
        bad: list[str] = []
        try:
            client.head_bucket(Bucket=bucket)
            for file in files:
                key, etag = f"{prefix}/{file.key}", expected_etag(file.path, file.size)
                if _matches(_stored(client, bucket, key), file, etag):
                    stored.append(StoredObject(key, file.size, etag, uploaded=False))
                    continue
                client.upload_file(str(file.path), bucket, key, Config=transfer,
                                   ExtraArgs={"Metadata": {"sha256": file.sha256}})
                head = _stored(client, bucket, key)
                if not _matches(head, file, etag):
                    bad.append(key)
                    continue
                stored.append(StoredObject(key, file.size, etag, uploaded=True))
            for key in bad:
                client.delete_object(Bucket=bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise _failure(exc, access, bucket) from None
        if bad:
            raise ChecksumMismatch(f"{len(bad)} file(s) arrived in s3://{bucket} changed on the way ("
                                   + ", ".join(bad[:3]) + (", ..." if len(bad) > 3 else "")
                                   + "): their ETags are not the files' checksums; removed them")
        return stored
