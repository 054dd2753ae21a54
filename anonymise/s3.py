"""Listing the objects under an ``s3://`` source (boto3). The gateway reads the objects itself;
the client only needs their keys, sizes and ETags."""

from __future__ import annotations

from anonymise.errors import UsageError
from anonymise.sources import S3Entry, S3Lister


def s3_lister(endpoint_url: str | None) -> S3Lister:
    """A function listing ``(bucket, prefix)``; credentials and region from the usual AWS variables.

    ``endpoint_url`` names an S3-compatible service (MinIO, moto); None uses AWS (or boto3's own
    ``AWS_ENDPOINT_URL``). A listing that fails (no bucket, no credentials) is a UsageError.
    """
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise UsageError("s3:// sources need boto3: pip install 'triton-image-service[client]'") from None
    client = boto3.client("s3", endpoint_url=endpoint_url)

    def list_objects(bucket: str, prefix: str) -> list[S3Entry]:
        try:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return [S3Entry(item["Key"], int(item["Size"]), str(item.get("ETag", "")).strip('"'))
                    for page in pages for item in page.get("Contents", [])]
        except (BotoCoreError, ClientError) as error:
            raise UsageError(f"s3://{bucket}/{prefix}: cannot list: {error}") from None

    return list_objects
