"""`ivrbox board status|release`: look at an FXO board's pins, or force it on-hook.

`release` is the belt-and-braces step for the engine's service unit
(`ExecStopPost=ivrbox board release`): whatever happened to the engine, the hook relay
is driven off and the pins are given back, so the line is free. `status` prints each
pin of the pin map and the level of every input, for an installer with a test phone.
Exit status 0, or 2 when the pin map is invalid or the GPIO cannot be opened.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "board", help="FXO board: show pins and inputs, or release the line (on-hook)",
        description="Show the FXO board's pin map and input levels (status), or drive the "
                    "hook relay off so the phone line is released (release).")
    p.add_argument("action", choices=("status", "release"))
    p.add_argument("--pinmap", default="ivrbox-fxo-ref",
                   help="board name (a file in hw/pinmaps/) or a pin map path "
                        "(default ivrbox-fxo-ref)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from firmware.appliance import pinmap_dirs
    from firmware.board import INPUTS, PIN_NAMES, Board, load_pinmap, load_pinmap_file

    # a file the installer names here (a board being wired) is theirs to choose; the
    # config and the page only ever name a board (firmware.settings.devices)
    is_file = "/" in args.pinmap or args.pinmap.endswith(".yaml")
    pinmap = load_pinmap_file(Path(args.pinmap)) if is_file else load_pinmap(args.pinmap, search=pinmap_dirs())
    board = Board(pinmap)
    try:
        if args.action == "status":
            print(f"board {pinmap.board} ({pinmap.source}); sound card '{pinmap.audio}'")
            for name, spec in pinmap.pins.items():
                level = ""
                if name in INPUTS:
                    level = "ACTIVE" if board.is_active(name) else "inactive"
                print(f"  {name:<16} GPIO {spec.gpio:<3} {level:<9} {PIN_NAMES[name]}")
        else:
            board.set_hook(False)
            print(f"board {pinmap.board}: hook relay (GPIO {pinmap.pins['hook_relay'].gpio}) "
                  "off: the line is on-hook")
    finally:
        board.close()
    return 0
