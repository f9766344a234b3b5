"""Where a recorded message ends (`activity.MessageEnd`), from frames of known level:
the silence limit, and the pause before a hang-up tone or a loop drop."""

from __future__ import annotations

import numpy as np

from firmware.ivr.activity import MessageEnd
from firmware.line.base import FRAME_SAMPLES, ms_to_samples

KEEP = ms_to_samples(300)
VOICE = (np.sin(np.arange(FRAME_SAMPLES) * 0.4) * 6000).astype(np.int16)  # about -14 dBm0
QUIET = np.zeros(FRAME_SAMPLES, np.int16)


def feed(end: MessageEnd, plan: list[tuple[np.ndarray, int]]) -> tuple[int, int | None]:
    """Frames as (frame, count); returns the line clock after them and the first cut."""
    clock = 0
    for frame, count in plan:
        for _ in range(count):
            clock += FRAME_SAMPLES
            cut = end.feed(frame, clock)
            if cut is not None:
                return clock, cut
    return clock, None


def test_silence_ends_the_message_keeping_a_little_of_the_pause() -> None:
    end = MessageEnd(silence_ms=2000)
    clock, cut = feed(end, [(VOICE, 50), (QUIET, 20), (VOICE, 25), (QUIET, 500)])
    pause_start = 95 * FRAME_SAMPLES  # the short pause after 1 s did not end it
    assert cut == pause_start + KEEP
    assert clock == pause_start + ms_to_samples(2000)


def test_no_silence_limit_never_ends_by_silence() -> None:
    _, cut = feed(MessageEnd(silence_ms=None), [(VOICE, 10), (QUIET, 1000)])
    assert cut is None


def test_a_hang_up_tone_is_cut_with_the_pause_before_it() -> None:
    end = MessageEnd(silence_ms=5000)
    # speech, a 1 s pause, then the exchange's busy tone (on 0.5 s, off 0.5 s)
    clock, _ = feed(end, [(VOICE, 100), (QUIET, 50), (VOICE, 25), (QUIET, 25), (VOICE, 10)])
    tone_start = 150 * FRAME_SAMPLES
    assert end.before_hangup(tone_start, clock) == 100 * FRAME_SAMPLES + KEEP


def test_a_loop_drop_after_a_pause_cuts_the_pause() -> None:
    end = MessageEnd(silence_ms=5000)
    clock, _ = feed(end, [(VOICE, 100), (QUIET, 60)])
    assert end.before_hangup(None, clock) == 100 * FRAME_SAMPLES + KEEP


def test_a_drop_mid_word_keeps_everything() -> None:
    end = MessageEnd(silence_ms=5000)
    clock, _ = feed(end, [(VOICE, 100), (QUIET, 10), (VOICE, 40)])
    assert end.before_hangup(None, clock) == clock
    tone = clock - 5 * FRAME_SAMPLES  # a tone heard mid-word: no pause before it
    assert end.before_hangup(tone, clock) == tone
