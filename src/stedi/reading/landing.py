"""The landing area: finding a source's files, never outside the landing root.

A local landing root is walked without trusting links: a symbolic link is followed only when its
target is inside the root (a file: read under the link's path, as a copy; a folder: walked once, so
loops end), and everything else that is not a regular file (links that leave the root or lead
nowhere, pipes, sockets, devices, folders that cannot be read) is skipped and reported with why.
Object storage has no links: its listing is taken as it is.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow.fs as pafs

from stedi.errors import LandingError
from stedi.storage import as_text, explain, filesystem, is_remote, local_path, within

DATA_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
NOT_DATA = "not a .json/.jsonl[.gz] file"


@dataclass(frozen=True)
class LandingFile:
    path: str  # as the filesystem knows it: where the bytes are read (a link's target, inside the root)
    relative: str  # below ROOT, with "/" separators: what the tables record as source_file
    size: int
    # How the file looked when found: size, modification and change times (ns), inode. Equal
    # signatures mean unchanged content; anything else is hashed (see stages.planning).
    signature: tuple[int, ...] = ()


@dataclass
class Listing:
    """A source's landing folder: its data files in path order, and what was skipped, with why."""

    files: list[LandingFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    missing: bool = False  # the SOURCE/landing/ folder is not there


Redact = Callable[[str], str]


def open_root(root: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of a landing root: a local folder or an object-store URI."""
    try:
        return filesystem(root)
    except Exception as exc:  # pyarrow raises several types for bad URIs
        raise LandingError(f"cannot open landing area {explain(exc, root)}") from exc


def require_root(root: str | None) -> str:
    """The landing root, checked to be given and to exist (before a run makes or opens anything)."""
    if not root:
        raise LandingError("no landing folder given (--landing or STEDI_LANDING)")
    if not root_exists(root):
        raise LandingError(f"landing folder {root} {_not_a_folder(root)}")
    return root


def root_exists(root: str) -> bool:
    return _kind(root) == pafs.FileType.Directory


def _kind(root: str) -> pafs.FileType:
    fs, base = open_root(root)
    try:
        return fs.get_file_info(base).type
    except OSError as exc:
        raise LandingError(f"cannot read landing area {explain(exc, root)}") from exc


def _not_a_folder(root: str) -> str:
    return "does not exist" if _kind(root) == pafs.FileType.NotFound else "is not a folder"


def holds(root: str, source: str, location: str) -> bool:
    """Whether `location` (a warehouse) lies inside the source's landing folder, where a run would
    read its own files as landing data."""
    folder = f"{root.rstrip('/')}/{source}/landing"
    local_folder, local_location = local_path(folder), local_path(location)
    if local_folder is not None and local_location is not None:
        folder, location = os.path.realpath(local_folder), os.path.realpath(local_location)
    elif local_folder is not None or local_location is not None:
        return False
    return within(location, folder)


def is_data_file(name: str) -> bool:
    return name.lower().endswith(DATA_SUFFIXES)


def discover(root: str, source: str, redact: Redact | None = None) -> Listing:
    """Data files of SOURCE/landing/ in path order, and the other entries found there (skipped).

    `redact` rewrites a relative path before anything records it (an erased person's address in a
    file name, see stages.erasure)."""
    listing = _discover_remote(root, source) if is_remote(root) else _discover_local(root, source)
    if redact is not None:
        listing.files = [_redacted(f, redact) for f in listing.files]
        listing.skipped = [(redact(path), why) for path, why in listing.skipped]
    prefix = len(source) + len("/landing/")
    listing.files.sort(key=lambda f: f.relative[prefix:])
    listing.skipped.sort()
    return listing


def _redacted(file: LandingFile, redact: Redact) -> LandingFile:
    relative = redact(file.relative)
    return file if relative == file.relative else LandingFile(file.path, relative, file.size, file.signature)


def _discover_remote(root: str, source: str) -> Listing:
    fs, base = open_root(root)
    folder = f"{base}/{source}/landing"
    try:
        info = fs.get_file_info(folder)
        if info.type != pafs.FileType.Directory:
            return Listing(missing=True)
        entries = fs.get_file_info(pafs.FileSelector(folder, recursive=True))
    except OSError as exc:
        raise LandingError(f"cannot list landing area {explain(exc, root)}") from exc
    listing = Listing()
    for entry in entries:
        relative = entry.path[len(base) + 1 :]
        if entry.type == pafs.FileType.Directory:
            continue
        if entry.type != pafs.FileType.File:
            listing.skipped.append((relative, "not a regular file"))
        elif is_data_file(entry.base_name):
            mtime = entry.mtime_ns or 0
            listing.files.append(LandingFile(entry.path, relative, entry.size or 0, (entry.size or 0, mtime)))
        else:
            listing.skipped.append((relative, NOT_DATA))
    return listing


def _signature(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _discover_local(root: str, source: str) -> Listing:
    base = os.path.abspath(root.removeprefix("file://"))
    try:
        real_root = os.path.realpath(base)
    except OSError as exc:
        raise LandingError(f"cannot read landing area {root}: {exc.strerror or exc}") from None
    folder = os.path.join(base, source, "landing")
    listing = Listing()
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        listing.missing = True
        return listing
    except OSError as exc:
        raise LandingError(f"cannot read landing folder {folder}: {exc.strerror or exc}") from None
    relative = f"{source}/landing"
    if stat.S_ISLNK(st.st_mode):
        target = _inside(real_root, folder)
        if target is None or not os.path.isdir(target):
            listing.skipped.append((relative, "a link that leaves the landing root or leads nowhere"))
            return listing
    elif not stat.S_ISDIR(st.st_mode):
        listing.missing = True
        return listing
    _walk(folder, relative, real_root, listing, seen=set())
    return listing


def _inside(real_root: str, path: str) -> str | None:
    """The real path of `path` when it is inside the landing root, else None."""
    try:
        target = os.path.realpath(path, strict=True)
    except (OSError, RuntimeError):
        return None
    return target if within(target, real_root) else None


def _walk(folder: str, relative: str, real_root: str, listing: Listing, seen: set[tuple[int, int]]) -> None:
    try:
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:
            listing.skipped.append((relative, "a link to a folder already read (a loop)"))
            return
        seen.add((st.st_dev, st.st_ino))
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        listing.skipped.append((relative, f"folder could not be read: {exc.strerror or exc}"))
        return
    for entry in entries:
        path, name = entry.path, f"{relative}/{as_text(entry.name)}"  # read, under a name the tables can hold
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                target = _inside(real_root, path)
                if target is None:
                    listing.skipped.append((name, "a link that leaves the landing root or leads nowhere"))
                    continue
                st = os.stat(target)
                path = target
        except OSError as exc:
            listing.skipped.append((name, f"could not be read: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk(path, name, real_root, listing, seen)
        elif not stat.S_ISREG(st.st_mode):
            listing.skipped.append((name, "not a regular file"))
        elif is_data_file(entry.name):
            listing.files.append(LandingFile(path, name, st.st_size, _signature(st)))
        else:
            listing.skipped.append((name, NOT_DATA))
