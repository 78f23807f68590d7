"""What the S3 adapters share: the client, streamed ranged reads, checked writes, deletion of every version.

Any S3-compatible store (AWS S3, SeaweedFS, MinIO, Ceph RGW) works: requests use path-style
addressing when an endpoint is configured, writes carry ``x-amz-checksum-sha256`` (one PUT) or
``Content-MD5`` (each part of a multipart upload) so the store itself refuses bytes damaged on the
way, and reads stream the body in chunks, re-opening with a ``Range`` GET after a seek.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ports.blobstore import StoreUnavailable

CHUNK = 1024 * 1024
# a single PUT up to this size; larger files go up in parts (S3 allows 5 GiB in one PUT)
MULTIPART_THRESHOLD = 64 * 1024 * 1024
PART_SIZE = 16 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}
_READ_RETRIES = 3


class IntegrityRefused(OSError):
    """The object store refused an upload whose bytes did not match their checksum."""


# answers of a store that is there but failing, as opposed to a refusal of the request itself
_OUTAGE_CODES = {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "503", "500"}


def is_outage(exc: Exception) -> bool:
    """True when an S3 error means the store is unreachable or failing (retry later), not a bad request."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or error_code(exc) in _OUTAGE_CODES
    return isinstance(exc, BotoCoreError)  # connection refused, reset, timeouts


def unavailable_on_outage(method):
    """Decorate a store method: an outage of the object store surfaces as :class:`StoreUnavailable`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            if is_outage(exc):
                raise StoreUnavailable(f"object store unavailable: {exc}") from exc
            raise

    return wrapper


def parse_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into the bucket and the key prefix (no leading or trailing slash)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"BLOB_STORE must look like s3://bucket/prefix, not {url!r}")
    return parts.netloc, parts.path.strip("/")


def join(*parts: str) -> str:
    """An object key from non-empty parts joined by slashes."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def make_client(
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
):
    """An S3 client; unset values fall back to boto3's usual chain (environment, profile, instance role)."""
    config = Config(
        # custom endpoints (SeaweedFS, MinIO, Ceph) rarely have a DNS name per bucket
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"max_attempts": 5, "mode": "standard"},
        # the adapters send their own checksums; no trailing CRC that older S3-compatible stores reject
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=64,
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )


def error_code(exc: ClientError) -> str:
    """The S3 error code of a failed request (or its HTTP status when the body had none)."""
    err = exc.response.get("Error", {})
    return str(err.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def head(client, bucket: str, key: str) -> dict | None:
    """The object's metadata, or None if there is no such object."""
    try:
        return client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in _MISSING:
            return None
        raise


def b64(digest: bytes) -> str:
    """Base64 of a digest, the form S3 checksum headers take."""
    return base64.b64encode(digest).decode("ascii")


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a local file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _refused(exc: ClientError) -> bool:
    return error_code(exc) in ("BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidChecksum")


def _precondition_failed(exc: ClientError) -> bool:
    return error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict")


def put_bytes(client, bucket: str, key: str, data: bytes, sha256_hex: str, write_once: bool) -> bool:
    """PUT small bytes with their SHA-256 for the store to check; False if write-once found the key taken."""
    args = {"Bucket": bucket, "Key": key, "Body": data, "ChecksumSHA256": b64(bytes.fromhex(sha256_hex))}
    return _put(client, args, write_once)


def _put(client, args: dict, write_once: bool) -> bool:
    if write_once:
        args["IfNoneMatch"] = "*"
    try:
        client.put_object(**args)
    except ClientError as exc:
        if write_once and _precondition_failed(exc):
            return False
        if write_once and error_code(exc) == "NotImplemented":  # a store without conditional writes
            args.pop("IfNoneMatch")
            if hasattr(args["Body"], "seek"):
                args["Body"].seek(0)
            return _put(client, args, write_once=False)
        if _refused(exc):
            raise IntegrityRefused(f"the object store refused {args['Key']}: {error_code(exc)}") from exc
        raise
    return True


def put_file(
    client,
    bucket: str,
    key: str,
    path: str | os.PathLike,
    sha256_hex: str,
    write_once: bool,
    threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
) -> bool:
    """Upload a local file whose SHA-256 is ``sha256_hex``, checked by the store; False if write-once found the key taken."""
    size = os.path.getsize(path)
    if size <= threshold:
        with open(path, "rb") as fh:
            args = {
                "Bucket": bucket,
                "Key": key,
                "Body": fh,
                "ContentLength": size,
                "ChecksumSHA256": b64(bytes.fromhex(sha256_hex)),
            }
            return _put(client, args, write_once)
    return _put_parts(client, bucket, key, path, sha256_hex, write_once, part_size)


def _put_parts(client, bucket: str, key: str, path, sha256_hex: str, write_once: bool, part_size: int) -> bool:
    """A multipart upload: each part is checked by the store (Content-MD5), the whole against the key here."""
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        parts, whole = [], hashlib.sha256()
        with open(path, "rb") as fh:
            number = 1
            while block := fh.read(part_size):
                whole.update(block)
                try:
                    sent = client.upload_part(
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=block,
                        ContentMD5=b64(hashlib.md5(block).digest()),
                    )
                except ClientError as exc:
                    if _refused(exc):
                        raise IntegrityRefused(f"the object store refused part {number} of {key}") from exc
                    raise
                parts.append({"PartNumber": number, "ETag": sent["ETag"]})
                number += 1
        if whole.hexdigest() != sha256_hex:
            raise IntegrityRefused(f"{path} does not hash to {sha256_hex}; not stored")
        args = {"Bucket": bucket, "Key": key, "UploadId": upload_id, "MultipartUpload": {"Parts": parts}}
        if write_once:
            args["IfNoneMatch"] = "*"
        try:
            client.complete_multipart_upload(**args)
        except ClientError as exc:
            if write_once and _precondition_failed(exc):
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
                return False
            raise
    except BaseException:
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError):
            pass  # the bucket's lifecycle rule for incomplete uploads cleans up (docs/deployment.md)
        raise
    return True


def versioned(client, bucket: str) -> bool:
    """True if the bucket keeps versions (versioning enabled now or once: suspended still holds old ones)."""
    status = client.get_bucket_versioning(Bucket=bucket).get("Status")
    return status in ("Enabled", "Suspended")


def delete_everywhere(client, bucket: str, key: str) -> bool:
    """Delete the object and, in a versioned bucket, every version and delete marker; True if it existed."""
    if not versioned(client, bucket):
        existed = head(client, bucket, key) is not None
        if existed:
            client.delete_object(Bucket=bucket, Key=key)
        return existed
    existed = False
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        for entry in page.get("Versions", []):
            if entry["Key"] == key:
                existed = True
                client.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"])
        for entry in page.get("DeleteMarkers", []):
            if entry["Key"] == key:
                client.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"])
    return existed


def list_keys(client, bucket: str, prefix: str) -> list[str]:
    """Every object key under a prefix."""
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(entry["Key"] for entry in page.get("Contents", []))
    return keys


class ObjectReader(io.RawIOBase):
    """A seekable, streamed view of one object, or of the byte window ``[start, start + length)`` of it.

    Reads come from one GET body, in the sizes asked for; a seek drops the body and the next read
    opens a ``Range`` GET at the new offset, so a ZIP's central directory or a byte range costs
    only the bytes it needs. A connection lost mid-body is resumed at the same offset.
    """

    def __init__(self, client, bucket: str, key: str, start: int = 0, length: int | None = None):
        super().__init__()
        self._client, self._bucket, self._key = client, bucket, key
        self._base, self._pos = start, 0
        if length == 0:
            found = head(client, bucket, key)
            if found is None:
                raise FileNotFoundError(f"no object {key}")
            self._body, total = None, found["ContentLength"]
        else:
            self._body, total = self._get(start, None if length is None else start + length - 1)
        end = total if length is None else min(total, start + length)
        self._size = max(0, end - start)

    def _get(self, first: int, last: int | None):
        """GET the object from byte ``first`` (to ``last``); the body and the object's whole size."""
        args = {"Bucket": self._bucket, "Key": self._key}
        if first or last is not None:
            args["Range"] = f"bytes={first}-{'' if last is None else last}"
        try:
            got = self._client.get_object(**args)
        except ClientError as exc:
            code = error_code(exc)
            if code in _MISSING:
                raise FileNotFoundError(f"no object {self._key}") from exc
            if code in ("InvalidRange", "416"):  # a window starting at or past the end
                found = head(self._client, self._bucket, self._key)
                if found is None:
                    raise FileNotFoundError(f"no object {self._key}") from exc
                return None, found["ContentLength"]
            raise
        content_range = got.get("ContentRange")
        total = int(content_range.rsplit("/", 1)[1]) if content_range else got["ContentLength"]
        return got["Body"], total

    def _open_at(self, pos: int) -> None:
        self._body, _ = self._get(self._base + pos, self._base + self._size - 1)

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Seeking re-opens the body at the new offset."""
        return True

    def tell(self) -> int:
        """The offset within the object (or window)."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to an offset; the next read opens the body there."""
        target = {io.SEEK_SET: offset, io.SEEK_CUR: self._pos + offset, io.SEEK_END: self._size + offset}[whence]
        if target < 0:
            raise ValueError("negative seek position")
        if target != self._pos:
            self._drop()
            self._pos = target
        return self._pos

    def readinto(self, buffer) -> int:
        """Read up to ``len(buffer)`` bytes from the current offset."""
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        for attempt in range(_READ_RETRIES + 1):
            try:
                if self._body is None:
                    self._open_at(self._pos)
                data = self._body.read(want)
                break
            except (BotoCoreError, OSError) as exc:
                if isinstance(exc, FileNotFoundError) or attempt == _READ_RETRIES:
                    raise
                self._drop()
        if not data:
            raise OSError(f"object {self._key} ended at byte {self._pos} of {self._size}")
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        """The rest of the object, read in chunks of ``CHUNK`` (callers that want it whole: small blobs)."""
        out = bytearray()
        buffer = bytearray(CHUNK)
        while n := self.readinto(memoryview(buffer)):
            out += buffer[:n]
        return bytes(out)

    def _drop(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        """Release the connection."""
        self._drop()
        super().close()

    @property
    def size(self) -> int:
        """Bytes in the object (or window)."""
        return self._size


def open_object(client, bucket: str, key: str, start: int = 0, length: int | None = None) -> io.BufferedReader:
    """A buffered, seekable stream of the object (or a byte window of it); FileNotFoundError if absent."""
    return io.BufferedReader(ObjectReader(client, bucket, key, start, length), buffer_size=CHUNK)
