"""gpiozero mock pins that keep time on a test's clock, not the wall clock.

API:
    ClockedMockFactory(clock)       a MockFactory whose pins are ClockedMockPin
        .gpio(n) -> ClockedMockPin  the pin of BCM GPIO n
    ClockedMockPin                  a MockPin that also records
        .history                    [(clock(), state)] of every change
        .on_change                  optional callback(t, state) after each change
                                    (lets a fake exchange follow the hook relay)

gpiozero's own MockPin stamps states with time.monotonic(); our tests never sleep, so
those stamps say nothing. These pins read the factory's `clock` (the fake sound card's
sample time), so a relay's on/off times can be checked in line time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin


class ClockedMockPin(MockPin):
    def __init__(self, factory: Any, info: Any) -> None:
        self.history: list[tuple[float, bool]] = []
        self.on_change: Callable[[float, bool], None] | None = None
        super().__init__(factory, info)

    def _change_state(self, value: bool) -> bool:
        changed = super()._change_state(value)
        if changed:
            t = self.factory.clock()
            self.history.append((t, bool(value)))
            if self.on_change is not None:
                self.on_change(t, bool(value))
        return changed


class ClockedMockFactory(MockFactory):
    def __init__(self, clock: Callable[[], float], revision: str | None = None) -> None:
        super().__init__(revision=revision, pin_class=ClockedMockPin)
        self.clock = clock

    def gpio(self, n: int) -> ClockedMockPin:
        return self.pin(n)  # type: ignore[no-any-return]
