"""Measure barge-in from what the caller heard: how long a prompt kept playing after
the onset of the caller's key. Shared by the tests and bench/engine_bench.py."""

from __future__ import annotations

import numpy as np

from firmware.line.base import FRAME_SAMPLES, samples_to_ms
from firmware.line.sim import SimCaller


def heard_prompt_until(caller: SimCaller, prompt: np.ndarray) -> int:
    """Line clock at which the caller stopped hearing `prompt` (played from its start).

    The prompt is found in the heard audio by its first frame; the end is the first
    sample that differs from the prompt (the box cut it, or played something else).
    """
    frames = caller.heard_frames
    audio = np.concatenate([f for _, f in frames])
    first = prompt[:FRAME_SAMPLES]
    for i, (at, frame) in enumerate(frames):
        if np.array_equal(frame, first):
            start_clock, offset = at, i * FRAME_SAMPLES
            break
    else:
        raise AssertionError("the caller never heard the start of that prompt")
    heard = audio[offset:offset + len(prompt)]
    same = heard == prompt[:len(heard)]
    played = int(np.argmin(same)) if not same.all() else len(heard)
    return start_clock + played


def barge_in_ms(caller: SimCaller, prompt: np.ndarray, key_onset: int) -> float:
    """Milliseconds the prompt went on after the key's onset (line clock samples)."""
    return samples_to_ms(heard_prompt_until(caller, prompt) - key_onset)
