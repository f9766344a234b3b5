"""Backup and restore of a data dir as one zip: config (+ history), greetings, messages.

API:
    make_backup(data_root, out, *, history=True, version="") -> BackupInfo
        `out` a path (written atomically) or a binary file object
    inspect_backup(zip_path, *, validate_config=None, free_bytes=None) -> BackupInfo
        checks everything `restore_backup` would rely on; raises UploadRejected (why)
    restore_backup(zip_path, data_root, *, validate_config=None) -> BackupInfo
        inspect first, then swap the data dir's contents in all at once
    BackupInfo(created_ms, version, schema_version, files, total_bytes, history)
    MANIFEST, BACKUP_FORMAT, MAX_FILE_BYTES, MAX_TOTAL_BYTES

The zip holds `ivrbox-backup.json` (the manifest), `ivrbox.db` (a consistent snapshot
made with SQLite's backup API while the engine runs: messages, call history, config
versions, settings kept in the key-value table, the web page's owner account -- never
its login sessions), and the files under `config/`, `greetings/` and `voicemail/`.
Without history the snapshot drops the call log and survey answers.

Restore validates the whole zip before anything is touched: it opens, every CRC is
right, every name is a plain relative path under the three directories, sizes are
sane (no zip bombs, room on the disk), the database passes SQLite's integrity check
and is a schema this ivrbox knows, every message's WAV is in the zip, and the config
parses (`validate_config(text)`, passed in so this layer does not import settings).
Then it extracts to a staging dir inside the data dir and renames the new pieces in,
moving the old ones aside (swap.py: journaled, so a power cut mid-swap is finished or
undone when the data dir is next opened; a failed rename puts the old data back). The
caller must have closed every Database on the data dir (stop the engine).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from firmware.errors import StoreError, UploadRejected
from firmware.store.files import DB_NAME, atomic_writer, free_bytes, safe_name
from firmware.store.schema import SCHEMA_VERSION
from firmware.store.swap import JOURNAL, make_work_dirs, recover, swap_in, swap_lock

MANIFEST = "ivrbox-backup.json"
BACKUP_FORMAT = 1
DIRS = ("config", "greetings", "voicemail")
MAX_FILE_BYTES = 512 * 1024 * 1024  # one file: a database of years, or a long WAV
MAX_TOTAL_BYTES = 8 * 1024**3  # the whole backup, unpacked
MAX_RATIO = 200  # unpacked / packed for one member: more is a zip bomb, not audio
RATIO_MIN_BYTES = 1024 * 1024  # small files may compress as they like
FREE_MARGIN_BYTES = 64 * 1024 * 1024  # leave this much free after a restore
HISTORY_TABLES = ("call_events", "survey_answers", "callbacks", "calls")
SECRET_TABLES = ("web_sessions", "web_login_failures")  # never leave the box
REQUIRED_TABLES = ("messages", "calls", "config_versions", "key_value")


@dataclass(frozen=True)
class BackupInfo:
    created_ms: int
    version: str
    schema_version: int
    files: int
    total_bytes: int
    history: bool


def _snapshot(db_path: Path, dest: Path, history: bool) -> int:
    """A consistent copy of a live WAL database, trimmed; returns its schema version."""
    src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
        tables = {r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        drop = [t for t in SECRET_TABLES + (() if history else HISTORY_TABLES) if t in tables]
        if not history and "messages" in tables:
            dst.execute("UPDATE messages SET call_id = NULL")
        for table in drop:
            dst.execute(f"DELETE FROM {table}")  # noqa: S608 - names from our constants
        dst.commit()
        dst.execute("VACUUM")
        return int(dst.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise StoreError(f"cannot snapshot the database {db_path}: {exc}") from exc
    finally:
        src.close()
        dst.close()


def _data_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in DIRS:
        base = root / name
        if base.is_dir():
            files += sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink())
    return files


def _write_zip(target: IO[bytes], root: Path, snapshot: Path, manifest: dict[str, object]) -> int:
    count = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=2))
        zf.write(snapshot, DB_NAME)
        for path in _data_files(root):
            zf.write(path, path.relative_to(root).as_posix())
            count += 1
    return count


def make_backup(data_root: Path | str, out: Path | str | IO[bytes], *, history: bool = True,
                version: str = "") -> BackupInfo:
    root = Path(data_root)
    db = root / DB_NAME
    if not db.exists():
        raise StoreError(f"{root} holds no ivrbox database to back up")
    created = time.time_ns() // 1_000_000
    with tempfile.TemporaryDirectory(prefix="ivrbox-backup-") as tmp:
        snapshot = Path(tmp) / DB_NAME
        schema = _snapshot(db, snapshot, history)
        manifest = {"format": BACKUP_FORMAT, "created_ms": created, "version": version,
                    "schema_version": schema, "history": history}
        if isinstance(out, (str, Path)):
            with atomic_writer(out) as handle:
                files = _write_zip(handle, root, snapshot, manifest)
        else:
            files = _write_zip(out, root, snapshot, manifest)
        total = snapshot.stat().st_size + sum(p.stat().st_size for p in _data_files(root))
    return BackupInfo(created, version, schema, files, total, history)


# -- validation ----------------------------------------------------------------------------
def _check_name(info: zipfile.ZipInfo) -> None:
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UploadRejected(f"the backup holds a symbolic link ({name!r}); refused")
    if name in (MANIFEST, DB_NAME):
        return
    path = PurePosixPath(name)
    if "\\" in name or path.is_absolute() or not path.parts or path.parts[0] not in DIRS:
        raise UploadRejected(f"the backup holds {name!r}, which is not ivrbox data")
    for part in path.parts[1:]:
        try:
            safe_name(part)
        except Exception:  # noqa: BLE001 - UsageError: say it as a refusal
            raise UploadRejected(f"the backup holds an unsafe file name {name!r}") from None


def _check_db(path: Path, members: set[str]) -> int:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if con.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise UploadRejected("the backup's database is damaged (integrity check)")
            schema = int(con.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            paths = [r[0] for r in con.execute("SELECT path FROM messages WHERE path IS NOT NULL")] \
                if "messages" in tables else []
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise UploadRejected(f"the backup's database cannot be read: {exc}") from None
    if not 1 <= schema <= SCHEMA_VERSION:
        raise UploadRejected(f"the backup's database has schema version {schema}; this ivrbox "
                             f"reads 1 to {SCHEMA_VERSION} (update ivrbox first)")
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise UploadRejected(f"the backup's database lacks the tables {', '.join(missing)}")
    for rel in paths:
        if PurePosixPath(rel).parts[:1] != ("voicemail",) or ".." in PurePosixPath(rel).parts:
            raise UploadRejected(f"a message in the backup points at {rel!r}, outside voicemail/")
        if rel not in members:
            raise UploadRejected(f"a message's recording {rel!r} is missing from the backup")
    return schema


def _inspect(zf: zipfile.ZipFile, tmp: Path, validate_config: Callable[[str], None] | None,
             room: int | None) -> BackupInfo:
    infos = zf.infolist()
    names = {i.filename for i in infos if not i.is_dir()}
    if MANIFEST not in names or DB_NAME not in names:
        raise UploadRejected("this is not an ivrbox backup (no manifest or database inside)")
    total = 0
    for info in infos:
        _check_name(info)
        if info.file_size > MAX_FILE_BYTES:
            raise UploadRejected(f"{info.filename} is too large ({info.file_size} bytes)")
        if info.file_size > RATIO_MIN_BYTES and \
                info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise UploadRejected(f"{info.filename} unpacks to far more than it packs: refused")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise UploadRejected(f"the backup unpacks to {total} bytes; at most {MAX_TOTAL_BYTES}")
    if room is not None and total + FREE_MARGIN_BYTES > room:
        raise UploadRejected(f"not enough free space: the backup needs {total // 10**6} MB")
    bad = zf.testzip()
    if bad is not None:
        raise UploadRejected(f"the backup is damaged: {bad} fails its checksum")
    try:
        manifest = json.loads(zf.read(MANIFEST))
        fmt = manifest["format"]
    except (ValueError, KeyError, TypeError):
        raise UploadRejected("the backup's manifest is unreadable") from None
    if fmt != BACKUP_FORMAT:
        raise UploadRejected(f"backup format {fmt!r} is not one this ivrbox reads")
    zf.extract(DB_NAME, tmp)
    schema = _check_db(tmp / DB_NAME, names)
    if "config/current.yaml" not in names:
        raise UploadRejected("the backup holds no config (config/current.yaml)")
    if validate_config is not None:
        try:
            validate_config(zf.read("config/current.yaml").decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise UploadRejected("the backup's config is not UTF-8 text") from None
        except Exception as exc:  # noqa: BLE001 - ConfigError and friends: say why
            raise UploadRejected(f"the backup's config is not valid: {exc}") from None
    return BackupInfo(int(manifest.get("created_ms", 0)), str(manifest.get("version", "")),
                      schema, len(names) - 2, total, bool(manifest.get("history", True)))


def _open(zip_path: Path | str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRejected(f"{Path(zip_path).name} is not a readable zip file ({exc})") from None


def inspect_backup(zip_path: Path | str, *, validate_config: Callable[[str], None] | None = None,
                   free_bytes: int | None = None) -> BackupInfo:
    with _open(zip_path) as zf, tempfile.TemporaryDirectory(prefix="ivrbox-inspect-") as tmp:
        return _inspect(zf, Path(tmp), validate_config, free_bytes)


# -- restore -------------------------------------------------------------------------------
def restore_backup(zip_path: Path | str, data_root: Path | str, *,
                   validate_config: Callable[[str], None] | None = None) -> BackupInfo:
    root = Path(data_root)
    root.mkdir(parents=True, exist_ok=True)
    with swap_lock(root):
        recover(root)  # an earlier restore cut short: repaired before anything else
        staging, trash = make_work_dirs(root)
        try:
            with _open(zip_path) as zf:
                info = _inspect(zf, staging, validate_config, free_bytes(root))
                for member in zf.infolist():
                    if member.filename != MANIFEST and not member.is_dir():
                        zf.extract(member, staging)
            for dir_name in DIRS:
                (staging / dir_name).mkdir(exist_ok=True)
            swap_in(root, staging, trash, [*DIRS, DB_NAME],
                    extra_old=[f"{DB_NAME}-wal", f"{DB_NAME}-shm"])
        finally:
            # a journal left (putting the old data back failed too): recover() needs both
            # the old data (trash) and the new (staging), or it takes the swap for done
            if not (root / JOURNAL).exists():
                shutil.rmtree(staging, ignore_errors=True)
                shutil.rmtree(trash, ignore_errors=True)
    return info
