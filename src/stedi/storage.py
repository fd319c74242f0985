"""Where files live: local folders or object storage (`s3://`), configured the standard AWS way.

Credentials, region and endpoint come from the usual settings (AWS_ACCESS_KEY_ID, AWS_PROFILE,
AWS_REGION, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3, ...), so S3-compatible stores work too. Timeouts
are short and retries few: a wrong endpoint fails in seconds instead of hanging.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs as pafs

from stedi.errors import SettingsError

CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 60.0
RETRY_ATTEMPTS = 3


def is_remote(location: str) -> bool:
    return "://" in location and not location.startswith("file:")


def require_location(location: str, what: str = "warehouse") -> str:
    """A location that names a place: an empty one would mean the current folder, which no one means
    when a variable that should hold the path is empty."""
    if not location.strip():
        raise SettingsError(f"no {what} given: an empty path would mean the current folder; name the {what}")
    return location


def normal_uri(location: str) -> str:
    """A local URI in one spelling, `file:///path` (Hadoop writes `file:/path`)."""
    if location.startswith("file:") and not location.startswith("file://"):
        return "file://" + location[len("file:") :]
    return location


def as_text(path: str) -> str:
    """A path as text the tables can hold. A name on Linux is bytes: bytes that are not UTF-8 (which
    Python keeps as lone surrogates) are written as `\\xNN`; any other path is itself."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


def within(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or lies below it (both spelt alike: real paths, or URIs)."""
    folder = folder.rstrip("/")
    return path.rstrip("/") == folder or path.startswith(folder + "/")


def local_path(location: str) -> str | None:
    """The path of a local location (`file://`, `file:` or a plain path); None for object storage."""
    if location.startswith("file:"):
        return normal_uri(location)[len("file://") :]
    return None if "://" in location else location


def s3_endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def s3_region() -> str | None:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    # An S3-compatible endpoint has no region to discover; AWS's default one is the convention.
    return region or ("us-east-1" if s3_endpoint() else None)


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem of a location and the path of the location within it."""
    if location.startswith("s3://") or location.startswith("s3a://"):
        parsed = urlparse(location)
        options: dict[str, object] = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "request_timeout": REQUEST_TIMEOUT_S,
            "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=RETRY_ATTEMPTS),
        }
        if endpoint := s3_endpoint():
            options["endpoint_override"] = endpoint
        if region := s3_region():
            options["region"] = region
        return pafs.S3FileSystem(**options), f"{parsed.netloc}{parsed.path}".rstrip("/")
    if is_remote(location):
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), (local_path(location) or location).rstrip("/") or "/"


def iceberg_io_properties() -> dict[str, str]:
    """pyiceberg FileIO settings that match `filesystem` (endpoint, region, timeouts)."""
    props = {"s3.connect-timeout": str(CONNECT_TIMEOUT_S), "s3.request-timeout": str(REQUEST_TIMEOUT_S)}
    if endpoint := s3_endpoint():
        props["s3.endpoint"] = endpoint
    if region := s3_region():
        props["s3.region"] = region
    return props


def access_problem(exc: BaseException) -> str | None:
    """What is wrong when storage could not be reached at all (credentials, bucket, endpoint): a
    problem of the settings, not of the data; None for any other error."""
    lowered = str(exc).lower()
    if any(k in lowered for k in ("access_denied", "accessdenied", "invalidaccesskeyid", "signaturedoesnotmatch")):
        return "access denied: check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
    if any(k in lowered for k in ("nosuchbucket", "no_such_bucket", "bucket does not exist")):
        return "the bucket does not exist"
    if any(k in lowered for k in ("curlcode: 7", "could not connect", "couldn't connect", "resolve host")):
        return f"cannot reach the storage endpoint {s3_endpoint() or '(AWS default)'}: check AWS_ENDPOINT_URL"
    return None


def explain(exc: BaseException, location: str) -> str:
    """A storage error in words a user can act on, with the original message after them."""
    text = str(exc).strip()
    first = text.splitlines()[0][:300] if text else type(exc).__name__
    hint = access_problem(exc)
    return f"{location}: {hint} ({first})" if hint else f"{location}: {first}"


def write_atomically(target: Path, data: bytes) -> None:
    """Replace a local file whole: a reader (or a crash) sees the old file or the new one, never a part."""
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
