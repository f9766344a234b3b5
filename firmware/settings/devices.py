"""What a line's `device` and `board` may name: checked when the config is read.

Contents: `check_device(backend, text) -> str` (raises ValueError), `check_board(name)
-> str` (raises ValueError), `pinmap_names() -> list[str]`, `PINMAP_DIRS`,
`same_port(device) -> str` (the real path of a serial port, for "is this the same
modem?").

Why so strict: the device text reaches pyserial and the board name reaches a YAML
loader. A URL such as `spy:///dev/x?file=/var/lib/ivrbox/ivrbox.db` or
`socket://host:port` would have pyserial truncate any writable file or send the line's
audio to any host, and a pin-map path would have the loader's errors reveal the keys of
any YAML file. So a modem is an absolute /dev path, an FXO sound card an ALSA name, and
a board one of the pin maps shipped in hw/pinmaps (or put there by the installer).
Whether the port exists now is not checked here: a modem unplugged while the config is
edited is normal; the line checks it when it opens the port (firmware.line.modem).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

MODEM_DEVICE = re.compile(r"^/dev/[A-Za-z0-9_./:+-]+$")
# hw:1  hw:1,0  plughw:1,0  hw:CARD=Device,DEV=0  (ALSA names, as PortAudio shows them)
ALSA_HW = re.compile(r"^(plug)?hw:(\d+|CARD=[A-Za-z0-9_]+)(,(\d+|DEV=\d+))?$")
# a card name (a part of the name the sound system shows: "USB Audio Device", "default")
CARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.()-]{0,63}$")
BOARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

# Where pin maps are looked up (`firmware.appliance.pinmap_dirs` returns these):
# hw/pinmaps in the source tree (development) and beside the venv (a release).
PINMAP_DIRS = (Path(__file__).resolve().parents[2] / "hw" / "pinmaps",
               Path(sys.prefix).parent / "hw" / "pinmaps")

MODEM_HINT = "a serial port under /dev such as /dev/ttyACM0 or /dev/serial/by-id/usb-..."
FXO_HINT = "a sound card such as hw:1, hw:1,0, plughw:1,0 or its name (USB Audio Device)"


def check_modem_device(text: str) -> str:
    device = text.strip()
    if not MODEM_DEVICE.match(device) or ".." in device.split("/"):
        raise ValueError(f"'{device}' is not a serial port: use {MODEM_HINT}")
    return device


def check_fxo_device(text: str) -> str:
    device = text.strip()
    if not (ALSA_HW.match(device) or CARD_NAME.match(device)):
        raise ValueError(f"'{device}' is not a sound card: use {FXO_HINT}")
    return device


def check_device(backend: str | None, text: str) -> str:
    """The device text, stripped, if it fits the backend; a sim line (or one whose
    backend is itself wrong) may name either kind, never anything else."""
    if backend == "modem":
        return check_modem_device(text)
    if backend == "fxo":
        return check_fxo_device(text)
    try:
        return check_modem_device(text)
    except ValueError:
        pass
    try:
        return check_fxo_device(text)
    except ValueError:
        raise ValueError(f"'{text.strip()}' is neither {MODEM_HINT} nor {FXO_HINT}") from None


def pinmap_names(dirs: tuple[Path, ...] = PINMAP_DIRS) -> list[str]:
    """The boards there is a pin map for (`<name>.yaml` in one of `dirs`)."""
    return sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")
                   if BOARD_NAME.match(p.stem)})


def check_board(name: str, dirs: tuple[Path, ...] = PINMAP_DIRS) -> str:
    """A known pin-map name; never a path (see the module doc)."""
    known = pinmap_names(dirs)
    if not BOARD_NAME.match(name) or name not in known:
        raise ValueError(f"no pin map '{name}' (known boards: {', '.join(known) or 'none'}; "
                         "a new board's pin map goes in hw/pinmaps/<name>.yaml)")
    return name


DEV = Path("/dev")
"""Where device names point. Tests set up a tree of their own here (by-id links to a
port) instead of touching the machine's /dev."""


def same_port(device: str) -> str:
    """What two device texts must both resolve to when they are the same port: the real
    path (`/dev/serial/by-id/usb-...` and `/dev/ttyACM0` are one modem). An ALSA name
    is returned as written."""
    text = device.strip()
    if not text.startswith("/dev/"):
        return text
    real = Path(os.path.realpath(DEV / text[len("/dev/"):]))
    try:
        return f"/dev/{real.relative_to(os.path.realpath(DEV)).as_posix()}"
    except ValueError:  # a link out of the device tree: compare where it points
        return str(real)
