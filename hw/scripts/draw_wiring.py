"""Draw hw/wiring.svg: the reference FXO board's wiring, from its pin map.

Run: python hw/scripts/draw_wiring.py [--pinmap hw/pinmaps/ivrbox-fxo-ref.yaml] [--out hw/wiring.svg]

One row per connection of the Pi header (header pin, BCM GPIO, signal), wired straight
across to the block it drives or reads; blocks that cross the isolation barrier (relay,
opto-couplers, transformer, line monitor) straddle the dashed line. Only PyYAML and the
standard library are used, so it runs without the firmware's dependencies.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

HW = Path(__file__).resolve().parents[1]

# Physical header pin of each BCM GPIO (every 40-pin Pi).
HEADER_PIN = {2: 3, 3: 5, 4: 7, 17: 11, 27: 13, 22: 15, 10: 19, 9: 21, 11: 23, 0: 27,
              5: 29, 6: 31, 13: 33, 19: 35, 26: 37, 14: 8, 15: 10, 18: 12, 23: 16, 24: 18,
              25: 22, 8: 24, 7: 26, 1: 28, 12: 32, 16: 36, 20: 38, 21: 40}

ROW0, ROW_H = 160, 42
X_CONN, W_CONN = 30, 290
X_PI, X_BAR, X_STRAD0, X_STRAD1 = 350, 650, 590, 710
X_LINE0, X_LINE1 = 760, 990
X_TIP, X_RING = 1030, 1070
WIDTH = 1210
PI_FILL, LINE_FILL, NOTE = "#e3eefc", "#fde6dc", "#555"
COLOURS = {"out": "#1f5fbf", "in": "#2a8a3a", "power": "#c0392b", "gnd": "#222", "audio": "#8e44ad"}


class Svg:
    def __init__(self, height: int) -> None:
        self.height = height
        self.parts: list[str] = []

    def add(self, s: str) -> None:
        self.parts.append(s)

    def text(self, x: float, y: float, s: str, size: int = 12, anchor: str = "start",
             weight: str = "normal", fill: str = "#111") -> None:
        self.add(f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}" fill="{fill}">{escape(s)}</text>')

    def rect(self, x: float, y: float, w: float, h: float, fill: str, stroke: str = "#333",
             dash: str = "") -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="5" '
                 f'fill="{fill}" stroke="{stroke}"{d}/>')

    def line(self, pts: list[tuple[float, float]], colour: str = "#222", width: float = 1.6,
             dash: str = "") -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{x:.0f},{y:.0f}" for x, y in pts)
        self.add(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                 f'stroke-width="{width}"{d}/>')

    def dot(self, x: float, y: float, colour: str = "#222") -> None:
        self.add(f'<circle cx="{x:.0f}" cy="{y:.0f}" r="3.5" fill="{colour}"/>')

    def block(self, x0: float, x1: float, r0: int, r1: int, title: str, lines: list[str],
              fill: str) -> None:
        y0, y1 = row_y(r0) - 17, row_y(r1) + 17
        self.rect(x0, y0, x1 - x0, y1 - y0, fill)
        self.text(x0 + 8, y0 + 15, title, 12, weight="bold")
        for i, s in enumerate(lines):
            self.text(x0 + 8, y0 + 29 + 12 * i, s, 10.5, fill=NOTE)

    def straddle(self, r0: int, r1: int, title: str, pi_label: str, line_label: str) -> None:
        y0, y1 = row_y(r0) - 17, row_y(r1) + 17
        self.add(f'<rect x="{X_STRAD0}" y="{y0:.0f}" width="{X_BAR - X_STRAD0}" '
                 f'height="{y1 - y0:.0f}" fill="{PI_FILL}" stroke="none"/>')
        self.add(f'<rect x="{X_BAR}" y="{y0:.0f}" width="{X_STRAD1 - X_BAR}" '
                 f'height="{y1 - y0:.0f}" fill="{LINE_FILL}" stroke="none"/>')
        self.rect(X_STRAD0, y0, X_STRAD1 - X_STRAD0, y1 - y0, "none")
        self.text((X_STRAD0 + X_STRAD1) / 2, y0 + 14, title, 11.5, "middle", "bold")
        self.text(X_STRAD0 + 5, y1 - 5, pi_label, 9.5, fill=NOTE)
        self.text(X_STRAD1 - 5, y1 - 5, line_label, 9.5, "end", fill=NOTE)

    def render(self) -> str:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{self.height}" '
                f'viewBox="0 0 {WIDTH} {self.height}" font-family="DejaVu Sans, Arial, sans-serif">\n'
                f'<rect width="100%" height="100%" fill="white"/>\n')
        return head + "\n".join(self.parts) + "\n</svg>\n"


def row_y(r: int) -> float:
    return ROW0 + r * ROW_H


def draw(pinmap: dict) -> str:
    pins = pinmap["pins"]

    def gp(name: str) -> int | None:
        spec = pins.get(name)
        return None if spec is None else (spec if isinstance(spec, int) else spec["gpio"])

    # (row label parts, block-side x, colour kind)
    rows: list[tuple[str, str, str, str]] = [("2", "-", "5 V", "power")]
    order = ["hook_relay", "loop_current", "polarity", "3v3", "usb", "ring_detect",
             "line_voltage", "extension_sense", "led_power", "led_line", "led_message", "button"]
    for name in order:
        if name == "3v3":
            rows.append(("1", "-", "3.3 V", "power"))
        elif name == "usb":
            rows.append(("USB", "-", "USB audio", "audio"))
        elif gp(name) is not None:
            g = gp(name)
            kind = "out" if name.startswith(("hook", "led")) else "in"
            rows.append((str(HEADER_PIN[g]), f"GPIO{g}", name, kind))
    rows.append(("6,9,14...", "-", "GND", "gnd"))
    r_of = {r[2]: i for i, r in enumerate(rows)}
    height = int(row_y(len(rows)) + 120)
    svg = Svg(height)

    svg.text(30, 34, f"ivrbox FXO reference board wiring ({pinmap['board']})", 18, weight="bold")
    svg.text(30, 56, "Pi 40-pin header (BCM GPIO numbers as in the pin map) to the board's "
             "blocks. Line side: up to ~150 V peak while ringing.", 11.5, fill=NOTE)

    # Header connector.
    top, bottom = row_y(0) - 40, row_y(len(rows) - 1) + 20
    svg.rect(X_CONN, top, W_CONN, bottom - top, "#f4f4f4")
    svg.text(X_CONN + 10, top + 16, "header pin   BCM      signal", 11, weight="bold")
    for i, (pin, gpio, signal, kind) in enumerate(rows):
        y = row_y(i)
        svg.text(X_CONN + 12, y + 4, pin, 12)
        svg.text(X_CONN + 90, y + 4, gpio, 12)
        svg.text(X_CONN + 160, y + 4, signal, 12, weight="bold", fill=COLOURS[kind])
        svg.dot(X_CONN + W_CONN, y, COLOURS[kind])

    def wire(name: str, x_end: float) -> None:
        if name in r_of:
            y = row_y(r_of[name])
            svg.line([(X_CONN + W_CONN, y), (x_end, y)], COLOURS[rows[r_of[name]][3]])

    # Isolation barrier.
    svg.line([(X_BAR, top - 20), (X_BAR, bottom + 10)], "#c0392b", 1.4, "7,5")
    svg.text(X_BAR - 8, top - 26, "Pi side (3.3 V logic)", 11, "end", "bold", "#1f5fbf")
    svg.text(X_BAR + 8, top - 26, "isolation barrier | line side: 250 V parts, 3 mm",
             11, weight="bold", fill="#c0392b")

    # Hook relay: driver on the Pi side, K1 across the barrier.
    r5, rh = r_of["5 V"], r_of["hook_relay"]
    wire("5 V", X_PI)
    wire("hook_relay", X_PI)
    svg.block(X_PI, 560, r5, rh, "Relay driver",
              ["R1 1k to Q1 (NPN / logic MOSFET)", "R2 10k GPIO to GND: off at boot",
               "D2 1N4148 across the coil"], PI_FILL)
    svg.line([(560, row_y(r5)), (X_STRAD0, row_y(r5))])
    svg.line([(560, row_y(rh)), (X_STRAD0, row_y(rh))])
    svg.straddle(r5, rh, "K1 relay", "5 V coil", "NO contact")

    # Loop chain on the line side: K1 -> OK2 -> OK3 -> BR1/U1/C1/T1 -> RING.
    x_chain = 780
    svg.line([(X_STRAD1, row_y(r5)), (X_TIP, row_y(r5))])
    svg.dot(X_TIP, row_y(r5))
    svg.text(X_STRAD1 + 60, row_y(r5) - 5, "tip (via F1)", 10, fill=NOTE)
    loop_rows = [rh]
    for name, title, pi_label, line_label in (
            ("loop_current", "OK2 H11AA1", "out", "LED"),
            ("polarity", "OK3 PC817", "out", "LED")):
        if name in r_of:
            r = r_of[name]
            wire(name, X_STRAD0)
            svg.straddle(r, r, title, pi_label, line_label)
            svg.line([(X_STRAD1, row_y(r)), (x_chain, row_y(r))])
            loop_rows.append(r)
    r_audio0, r_audio1 = r_of["3.3 V"], r_of["USB audio"]
    svg.line([(X_STRAD1, row_y(rh)), (x_chain, row_y(rh)), (x_chain, row_y(r_audio0)),
              (X_LINE0 + 40, row_y(r_audio0))])
    for r in loop_rows[1:]:
        svg.dot(x_chain, row_y(r))
    svg.text(x_chain + 8, row_y(rh) + 16, "loop (off-hook): K1, OK2 LED, OK3 LED", 10,
             fill=NOTE)
    if "polarity" in r_of:
        svg.text(x_chain + 8, row_y(r_of["polarity"]) + 14,
                 "OK3: 1N4148 reverse across its LED", 10, fill=NOTE)
    svg.block(X_LINE0 + 40, X_LINE1, r_audio0, r_audio1, "Loop: BR1, U1, C1, T1",
              ["BR1 bridge (polarity-free)", "U1 gyrator holds 20-60 mA",
               "C1 2.2u 250 V couples T1"], LINE_FILL)
    svg.line([(X_LINE1, row_y(r_audio1)), (X_RING, row_y(r_audio1))])
    svg.dot(X_RING, row_y(r_audio1))
    svg.text(X_LINE1 + 4, row_y(r_audio1) - 5, "ring", 10, fill=NOTE)

    # Audio: sound card + hybrid on the Pi side, T1 across the barrier.
    wire("3.3 V", 460)
    wire("USB audio", X_PI)
    svg.block(X_PI, 450, r_audio1, r_audio1, "Sound card", ["USB, 48 kHz"], PI_FILL)
    svg.block(460, 560, r_audio0, r_audio1, "U2 hybrid", ["2 op-amps,", "600 R balance",
                                                          "2-wire <-> 4-wire"], PI_FILL)
    svg.line([(450, row_y(r_audio1) - 6), (460, row_y(r_audio1) - 6)], COLOURS["audio"])
    svg.line([(450, row_y(r_audio1) + 6), (460, row_y(r_audio1) + 6)], COLOURS["audio"])
    svg.text(X_PI, row_y(r_audio1) + 29, "card out -> hybrid in; hybrid out -> mic/line in",
             9.5, fill=NOTE)
    svg.line([(560, row_y(r_audio0) + 20), (X_STRAD0, row_y(r_audio0) + 20)], COLOURS["audio"])
    svg.straddle(r_audio0, r_audio1, "T1 600:600", "Pi winding", "line winding")
    svg.line([(X_STRAD1, row_y(r_audio1)), (X_LINE0 + 40, row_y(r_audio1))])

    # Ring detector, line monitor: straight across to the tip/ring bus.
    if "ring_detect" in r_of:
        r = r_of["ring_detect"]
        wire("ring_detect", X_STRAD0)
        svg.straddle(r, r, "OK1 H11AA1", "out", "LED")
        svg.block(X_LINE0, X_LINE1, r, r, "C 0.47u 250 V + R 22k 1 W", ["across the line, always"],
                  LINE_FILL)
        svg.line([(X_STRAD1, row_y(r)), (X_LINE0, row_y(r))])
        svg.line([(X_LINE1, row_y(r) - 6), (X_TIP, row_y(r) - 6)])
        svg.line([(X_LINE1, row_y(r) + 6), (X_RING, row_y(r) + 6)])
        svg.dot(X_TIP, row_y(r) - 6)
        svg.dot(X_RING, row_y(r) + 6)
    mon = [r_of[n] for n in ("line_voltage", "extension_sense") if n in r_of]
    if mon:
        for n in ("line_voltage", "extension_sense"):
            wire(n, X_STRAD0)
        svg.straddle(min(mon), max(mon), "Line monitor", "(optional)", "isolated")
        svg.block(X_LINE0, X_LINE1, min(mon), max(mon), "High-impedance input",
                  ["megohms: on-hook leakage limits", "thresholds ~3 V and ~20 V"], LINE_FILL)
        svg.line([(X_STRAD1, row_y(min(mon))), (X_LINE0, row_y(min(mon)))])
        svg.line([(X_LINE1, row_y(min(mon))), (X_TIP, row_y(min(mon)))])
        svg.line([(X_LINE1, row_y(max(mon))), (X_RING, row_y(max(mon)))])
        svg.dot(X_TIP, row_y(min(mon)))
        svg.dot(X_RING, row_y(max(mon)))

    # Tip/ring bus and line protection.
    bus_end = row_y(max([r_of.get("ring_detect", 0)] + mon)) + 10
    svg.rect(975, 96, 225, 44, LINE_FILL)
    svg.text(985, 114, "J1 RJ11: tip, ring", 11.5, weight="bold")
    svg.text(985, 130, "F1 PTC 150 mA, D1 300 V surge", 10.5, fill=NOTE)
    svg.line([(X_TIP, 140), (X_TIP, bus_end)], "#111", 2.2)
    svg.line([(X_RING, 140), (X_RING, bus_end)], "#111", 2.2)
    svg.text(X_TIP - 4, bus_end + 16, "TIP", 11, "middle", "bold")
    svg.text(X_RING + 4, bus_end + 16, "RING", 11, "middle", "bold")

    # LEDs, button, ground on the Pi side.
    leds = [r_of[n] for n in ("led_power", "led_line", "led_message") if n in r_of]
    for n in ("led_power", "led_line", "led_message"):
        wire(n, X_PI)
    if leds:
        svg.block(X_PI, 560, min(leds), max(leds), "LEDs", ["each: LED + 330 R to GND",
                                                            "power, line (blinks when", "ringing), message"],
                  PI_FILL)
    if "button" in r_of:
        wire("button", X_PI)
        svg.block(X_PI, 560, r_of["button"], r_of["button"], "SW1 button", ["to GND (pull-up)"],
                  PI_FILL)
    rg = r_of["GND"]
    wire("GND", 560)
    svg.text(X_PI, row_y(rg) - 6, "GND: opto emitters, Q1, R2, LEDs, SW1, hybrid, card", 10.5,
             fill=NOTE)

    # Legend.
    y = height - 56
    for i, (kind, label) in enumerate((("out", "output"), ("in", "input"), ("power", "power"),
                                       ("gnd", "ground"), ("audio", "audio"))):
        x = 30 + i * 120
        svg.line([(x, y), (x + 28, y)], COLOURS[kind], 2.5)
        svg.text(x + 34, y + 4, label, 11)
    svg.text(30, y + 26, "dot = connection; wires crossing without a dot are not connected. "
             "Generated by hw/scripts/draw_wiring.py from the pin map; parts and values: "
             "hw/README.md.", 10.5, fill=NOTE)
    return svg.render()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pinmap", type=Path, default=HW / "pinmaps" / "ivrbox-fxo-ref.yaml")
    parser.add_argument("--out", type=Path, default=HW / "wiring.svg")
    args = parser.parse_args()
    args.out.write_text(draw(yaml.safe_load(args.pinmap.read_text(encoding="utf-8"))),
                        encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
