"""`ivrbox preseed`: first-boot settings from the SD card's boot partition, read once.

    ivrbox preseed /boot/firmware/ivrbox.yaml --data /var/lib/ivrbox [--owner ivrbox]
    ivrbox preseed --hash-password         print the admin_password_hash for the file

The installer writes `ivrbox.yaml` on the boot partition (FAT: readable from any
laptop) before the first boot; `ivrbox-firstboot.service` runs this command once. The
file (format: hw/README.md, example hw/image/ivrbox.yaml.example):

    business: {name: ..., timezone: Area/City, country: us|tw|cn|uk|de|jp}
    line: {backend: sim|modem|fxo, device: /dev/ttyACM0}
    admin_password_hash: "$argon2id$..."     the web page's owner password, hashed
    smtp: {host: ..., port: 587, security: starttls, username: ..., password: ...,
           sender: ..., timeout_s: 30, attach_as: wav|mp3|opus}

Every section is optional. The values are merged into the published config, which is
validated as a whole (every problem listed, located in the config) and published as a
new version, as the web page does. The password hash becomes the page's owner account
(store.web, user "admin"), so the first-run page is skipped. Then the file is deleted:
it may hold the SMTP password. A file with problems is left in place, untouched, and
the command fails (the journal says why), so the installer can fix it.

API:
    preseed(path, data_dir, clock_ms=...) -> list[str]   what was applied (no secrets)
    PRESEED_KEYS
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

PRESEED_KEYS = {"business": ("name", "timezone", "country"),
                "line": ("backend", "device"),
                "smtp": ("host", "port", "security", "username", "password", "sender",
                         "timeout_s", "attach_as"),
                "admin_password_hash": ()}
NOTE = "first boot (preseed)"
MIN_SALT_BYTES = 8  # RFC 9106's minimum salt length
MIN_HASH_BYTES = 16  # shorter tags are no password check worth the name


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("preseed", help="apply first-boot settings from the boot partition")
    p.add_argument("file", type=Path, nargs="?", metavar="FILE",
                   help="the preseed file, e.g. /boot/firmware/ivrbox.yaml")
    p.add_argument("--data", type=Path, default=Path("./data"), help="data dir (default ./data)")
    p.add_argument("--owner", help="give the data dir to this user afterwards (as root)")
    p.add_argument("--hash-password", action="store_true",
                   help="read a password and print its admin_password_hash")
    p.set_defaults(func=run)


def _problem(path: Path, where: str, message: str) -> Any:
    from firmware.errors import ConfigProblem

    return ConfigProblem(str(path), None, where, message)


def _read(path: Path) -> dict[str, Any]:
    from firmware.errors import ConfigError
    from firmware.settings.yamlio import read

    try:
        data, _, _ = read(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError([_problem(path, "", f"cannot read: {exc.strerror or exc}")]) from None
    except Exception as exc:  # noqa: BLE001 - yaml.YAMLError with its mark
        raise ConfigError([_problem(path, "", f"not valid YAML: {exc}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([_problem(path, "", "the preseed file must be a YAML mapping")])
    problems = []
    for key, value in data.items():
        if key not in PRESEED_KEYS:
            problems.append(_problem(path, key, f"unknown setting (known: "
                                     f"{', '.join(PRESEED_KEYS)})"))
        elif PRESEED_KEYS[key] and not isinstance(value, dict):
            problems.append(_problem(path, key, "must be a mapping"))
        elif PRESEED_KEYS[key]:
            for field in value:
                if field not in PRESEED_KEYS[key]:
                    problems.append(_problem(path, f"{key}.{field}", "not settable here "
                                             f"(known: {', '.join(PRESEED_KEYS[key])})"))
    hashed = data.get("admin_password_hash")
    if hashed is not None and not _is_argon2(hashed):
        problems.append(_problem(path, "admin_password_hash", "not an argon2 hash (the example's "
                                 "placeholder, or cut short): make one with `ivrbox preseed "
                                 "--hash-password` and paste it whole (never the password)"))
    if problems:
        raise ConfigError(problems)
    return data


def _is_argon2(value: Any) -> bool:
    """A hash the web page can verify a password against. argon2's own parser reads only
    the parameters, so the example file's placeholder (`...$REPLACE$WITH-YOUR-OWN-HASH`)
    would pass it and lock the owner out of a page that skips its first-run screen: the
    salt and the hash must also be real base64 of a real length (RFC 9106: salt >= 8
    bytes; `--hash-password` makes 16 and 32)."""
    import binascii
    from base64 import b64decode

    from argon2 import extract_parameters
    from argon2.exceptions import InvalidHashError

    if not isinstance(value, str) or not value.startswith("$argon2"):
        return False
    try:
        extract_parameters(value)
        salt, digest = value.split("$")[-2:]
        raw = [b64decode(part + "=" * (-len(part) % 4), validate=True) for part in (salt, digest)]
    except (InvalidHashError, ValueError, binascii.Error):
        return False
    return len(raw[0]) >= MIN_SALT_BYTES and len(raw[1]) >= MIN_HASH_BYTES


def preseed(path: Path, data_dir: Path, clock_ms: Any = None) -> list[str]:
    from firmware.appliance import DEFAULT_CONFIG, data_config_path
    from firmware.errors import ConfigError
    from firmware.store import Store
    from firmware.web.auth import ADMIN
    from firmware.web.configs import ConfigPublisher, text_data, to_text

    wanted = _read(path)
    store = Store(data_dir)
    try:
        config_path = data_config_path(data_dir)
        publisher = ConfigPublisher(store, config_path,
                                    clock_ms or (lambda: time.time_ns() // 1_000_000))
        base = config_path.read_text(encoding="utf-8-sig") if config_path.exists() \
            else DEFAULT_CONFIG.read_text(encoding="utf-8")
        data = text_data(base)
        applied: list[str] = []
        for section in ("business", "line"):
            for field, value in (wanted.get(section) or {}).items():
                data.setdefault(section, {})[field] = value
                applied.append(f"{section}.{field} = {value}")
        if "smtp" in wanted:
            data["smtp"] = dict(wanted["smtp"])
            applied.append(f"smtp: {wanted['smtp'].get('host')} (password kept in the config)")
        if applied:
            try:
                version = publisher.publish(to_text(data), NOTE)
            except ConfigError as exc:
                raise ConfigError([_problem(path, "", "the merged config is not valid:"),
                                   *exc.problems]) from None
            applied.append(f"config published as version {version}")
        hashed = wanted.get("admin_password_hash")
        if hashed:
            user = store.web.user(ADMIN)
            if user is None:
                store.web.create_user(ADMIN, hashed)
            else:
                store.web.set_password(user.id, hashed)
            applied.append("web page owner password set")
    finally:
        store.close()
    path.unlink()
    applied.append(f"{path} removed")
    return applied


def _hash_password() -> int:
    from firmware.errors import UsageError
    from firmware.web.auth import check_new_password, hash_password

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Owner password for the web page: ")
        if getpass.getpass("Again: ") != password:
            raise UsageError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    problem = check_new_password(password, lambda text: text)
    if problem:
        raise UsageError(problem)
    print(hash_password(password))
    return 0


def _give_to(owner: str, data_dir: Path) -> None:
    import os
    import pwd

    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        from firmware.errors import UsageError

        raise UsageError(f"--owner {owner}: no such user") from None
    for root, dirs, files in os.walk(data_dir):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


def run(args: argparse.Namespace) -> int:
    from firmware.errors import UsageError

    if args.hash_password:
        return _hash_password()
    if args.file is None:
        raise UsageError("give the preseed FILE (or --hash-password)")
    if not args.file.exists():
        print(f"ivrbox preseed: {args.file} does not exist: nothing to do")
        return 0
    for line in preseed(args.file, args.data):
        print(f"preseed: {line}")
    if args.owner:
        _give_to(args.owner, args.data)
    return 0
