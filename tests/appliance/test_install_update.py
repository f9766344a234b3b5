"""Updating: `ivrbox migrate`, and install.sh's release logic unprivileged in a temp dir
(`--no-system`; those tests build real release virtualenvs, so they are marked slow).

A release is built from a copy of this repo with its own version number. pip installs
only ivrbox itself (`--no-deps --no-index`); its dependencies come from the test's own
virtualenv through PYTHONPATH, so no network is needed. What is proved: the database is
migrated from an older schema and its rows kept; a new release that fails a start check
(here: a migration that breaks) is not switched to and the live database is untouched;
`previous` keeps the old release, and `--rollback` restores it with the database as it
was before the update.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from firmware.store.db import Database
from firmware.store.schema import MIGRATIONS, SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]
RELEASE_FILES = ("firmware", "audio", "config", "hw", "setup.py", "README.md")
BROKEN_MIGRATION = '\n_BROKEN = "CREATE TABLE calls (x INTEGER);"  # exists already: fails\n' \
                   'MIGRATIONS = MIGRATIONS + (_BROKEN,)\n'


def source(tmp: Path, version: str, broken_migration: bool = False) -> Path:
    src = tmp / f"src-{version}"
    for name in RELEASE_FILES:
        item = REPO / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, src / name)
    init = src / "firmware" / "__init__.py"
    init.write_text(re.sub(r'__version__ = ".*"', f'__version__ = "{version}"', init.read_text()))
    if broken_migration:
        schema = src / "firmware" / "store" / "schema.py"
        text = schema.read_text()
        schema.write_text(text.replace("SCHEMA_VERSION = len(MIGRATIONS)",
                                       BROKEN_MIGRATION + "SCHEMA_VERSION = len(MIGRATIONS)"))
    return src


def install(tmp: Path, src: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IVRBOX_PREFIX": str(tmp / "opt"), "IVRBOX_DATA": str(tmp / "data"),
           "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    return subprocess.run(
        ["bash", str(src / "hw" / "install" / "install.sh"), "--no-system", "--offline",
         "--python", sys.executable, "--pip-args", "--no-deps --no-build-isolation --no-index",
         *extra], capture_output=True, text=True, env=env, timeout=300)


def version_of(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("PRAGMA user_version").fetchone()[0])
    finally:
        con.close()


def old_data(tmp: Path) -> Path:
    """A data dir as the first release left it: schema 1, one message, a config."""
    data = tmp / "data"
    (data / "config").mkdir(parents=True)
    shutil.copy(REPO / "config" / "default.yaml", data / "config" / "current.yaml")
    db = Database(data / "ivrbox.db", migrations=MIGRATIONS[:1])
    with db.write() as con:
        con.execute("INSERT INTO messages (mailbox, received_ms, path) VALUES ('general', 1, "
                    "'voicemail/general/m.wav')")
    db.close()
    return data


def messages(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM messages").fetchone()[0])
    finally:
        con.close()


def test_migrate_command_brings_an_old_database_up_to_date(tmp_path: Path, capsys) -> None:
    from firmware.cli import main

    data = old_data(tmp_path)
    assert version_of(data / "ivrbox.db") == 1
    assert main(["migrate", "--data", str(data)]) == 0
    assert f"schema version {SCHEMA_VERSION}" in capsys.readouterr().out
    assert version_of(data / "ivrbox.db") == SCHEMA_VERSION and messages(data / "ivrbox.db") == 1


@pytest.mark.slow  # two release builds (venv + pip): 30-60 s
def test_update_migrates_and_a_failing_release_is_not_switched_to(tmp_path: Path) -> None:
    data = old_data(tmp_path)
    config = (data / "config" / "current.yaml").read_text()
    first = install(tmp_path, source(tmp_path, "1.0.0"))
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "opt" / "current").resolve().name == "1.0.0"
    assert version_of(data / "ivrbox.db") == SCHEMA_VERSION  # migrated from 1
    assert messages(data / "ivrbox.db") == 1
    assert (data / "config" / "current.yaml").read_text() == config

    bad = install(tmp_path, source(tmp_path, "2.0.0", broken_migration=True))
    assert bad.returncode == 1
    assert "cannot migrate (a copy of) the database" in bad.stdout
    assert "keeping the installed one" in bad.stdout
    assert (tmp_path / "opt" / "current").resolve().name == "1.0.0"
    assert not (tmp_path / "opt" / "releases" / "2.0.0").exists()
    assert version_of(data / "ivrbox.db") == SCHEMA_VERSION and messages(data / "ivrbox.db") == 1


@pytest.mark.slow  # three release builds
def test_update_keeps_previous_and_rollback_restores_the_database(tmp_path: Path) -> None:
    data = old_data(tmp_path)
    assert install(tmp_path, source(tmp_path, "1.0.0")).returncode == 0
    newer = source(tmp_path, "1.1.0")
    second = install(tmp_path, newer)
    assert second.returncode == 0, second.stdout + second.stderr
    opt = tmp_path / "opt"
    assert (opt / "current").resolve().name == "1.1.0"
    assert (opt / "previous").resolve().name == "1.0.0"
    assert (data / "backups" / "ivrbox.db.before-1.1.0").exists()
    con = sqlite3.connect(data / "ivrbox.db")  # something happens after the update
    con.execute("INSERT INTO messages (mailbox, received_ms, text) VALUES ('general', 2, 'x')")
    con.commit()
    con.close()
    assert messages(data / "ivrbox.db") == 2

    back = install(tmp_path, newer, "--rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert (opt / "current").resolve().name == "1.0.0"
    assert (opt / "failed").resolve().name == "1.1.0"
    assert messages(data / "ivrbox.db") == 1  # the database as it was before 1.1.0
    ran = subprocess.run([str(opt / "current" / "venv" / "bin" / "ivrbox"), "--version"],
                         capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]})
    assert ran.stdout.strip() == "ivrbox 1.0.0"
