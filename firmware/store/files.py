"""The data directory: where everything ivrbox keeps lives, and how files get there safely.

API index:
    DataDir(root)                 the layout of one data dir; sub-dirs are made on first use
      .db_path                    <root>/ivrbox.db
      .greetings .voicemail .tts_cache .outbox .config   sub-directories (Path, created)
      .inside(sub_dir, name)      a path for `name` that cannot leave `sub_dir`
      .relative(path) / .absolute(rel)   store paths in the db relative to the root
      .free_bytes()               free space on the data dir's file system
    safe_name(name)               accept a plain file name or raise UsageError
    sanitize_name(name)           turn an arbitrary (uploaded) name into a safe one
    atomic_write(path, data)      write bytes so a reader sees the old or the new file, never half
    atomic_writer(path)           the same as a context manager yielding a binary file
    fsync_dir(path)               make a rename or create in that directory durable
    free_bytes(path)              free space (bytes) for an unprivileged writer

Why atomic writes: the Pi loses power without warning. Writing a temp file in the same
directory, fsyncing it, renaming over the target and fsyncing the directory means a reader
(or the next boot) sees either the old content or the new, never a torn file.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from firmware.errors import StoreError, UsageError

DB_NAME = "ivrbox.db"
SUBDIRS = ("greetings", "voicemail", "tts-cache", "outbox", "config")
MAX_NAME_CHARS = 120  # well under every file system's 255-byte limit, even with suffixes

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """Return `name` if it is a plain file name (letters, digits, `._-`, no leading dot)."""
    if not isinstance(name, str) or not name:
        raise UsageError("a file name is required")
    if len(name) > MAX_NAME_CHARS:
        raise UsageError(f"file name too long ({len(name)} characters, at most {MAX_NAME_CHARS})")
    if not _SAFE.match(name) or ".." in name:
        raise UsageError(
            f"file name {name!r} is not allowed: use letters, digits, '.', '_' or '-' only, "
            "not starting with '.'"
        )
    return name


def sanitize_name(name: str, default: str = "file") -> str:
    """Make a safe name from anything (an upload's file name): keep only the last path part,
    replace other characters by '_', strip leading dots; never returns an unsafe name."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _UNSAFE_CHARS.sub("_", base).strip("._-")
    base = re.sub(r"\.{2,}", ".", base)
    if not base:
        base = default
    if len(base) > MAX_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            base = stem[: MAX_NAME_CHARS - len(ext) - 1] + "." + ext
        else:
            base = base[:MAX_NAME_CHARS]
    return safe_name(base)


def fsync_dir(path: Path | str) -> None:
    """fsync a directory so that creates, renames and deletes in it survive power loss."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path | str) -> Iterator[BinaryIO]:
    """Yield a binary file; on normal exit it replaces `path` atomically and durably.

    On an exception the temp file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write(path: Path | str, data: bytes | str) -> None:
    """Replace `path` with `data` (str is written as UTF-8) atomically and durably."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        with atomic_writer(path) as f:
            f.write(data)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc


def free_bytes(path: Path | str) -> int:
    """Bytes an unprivileged process may still write on the file system holding `path`."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class DataDir:
    """The layout of one data dir (DESIGN.md, "Data dir"); passed around, never global."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"DataDir({str(self.root)!r})"

    def _sub(self, name: str) -> Path:
        path = self.root / name
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create data directory {path}: {exc.strerror or exc}") from exc
        return path

    @property
    def db_path(self) -> Path:
        self._sub(".")
        return self.root / DB_NAME

    @property
    def greetings(self) -> Path:
        return self._sub("greetings")

    @property
    def voicemail(self) -> Path:
        return self._sub("voicemail")

    @property
    def tts_cache(self) -> Path:
        return self._sub("tts-cache")

    @property
    def outbox(self) -> Path:
        return self._sub("outbox")

    @property
    def config(self) -> Path:
        return self._sub("config")

    def ensure(self) -> None:
        """Create every sub-directory now (start-up), so a read-only disk shows at once."""
        for name in SUBDIRS:
            self._sub(name)

    def inside(self, sub_dir: Path, *names: str) -> Path:
        """A path under `sub_dir` built from safe names; refuses anything that would
        escape it (including through a symlink). Intermediate directories are created."""
        path = Path(sub_dir)
        for name in names:
            path = path / safe_name(name)
        base = Path(sub_dir).resolve()
        resolved = path.resolve()
        if resolved != base and base not in resolved.parents:
            raise UsageError(f"{'/'.join(names)!r} points outside {base}")
        if self.root not in resolved.parents:
            raise UsageError(f"{resolved} is not inside the data dir {self.root}")
        resolved.parent.mkdir(parents=True, exist_ok=True)
        return resolved

    def relative(self, path: Path | str) -> str:
        """The path as stored in the db: relative to the root, so the dir can move."""
        resolved = Path(path).resolve()
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            raise StoreError(f"{resolved} is not inside the data dir {self.root}") from None

    def absolute(self, rel: str) -> Path:
        """Inverse of `relative`; refuses a stored path that would leave the root."""
        resolved = (self.root / rel).resolve()
        if self.root not in resolved.parents:
            raise StoreError(f"stored path {rel!r} points outside the data dir")
        return resolved

    def free_bytes(self) -> int:
        return free_bytes(self._sub("."))
