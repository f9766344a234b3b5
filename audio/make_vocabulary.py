#!/usr/bin/env python3
"""Re-record the read-out vocabulary: audio/<language>/<id>.wav from audio/vocabulary.yaml.

Reproducible: the same espeak-ng version and texts give the same files. Run it after
editing vocabulary.yaml:  .venv/bin/python audio/make_vocabulary.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

from firmware.dsp.audiofile import write_wav  # noqa: E402
from firmware.ivr.prompts import TextToSpeech  # noqa: E402
from firmware.ivr.vocabulary import load  # noqa: E402


def main() -> int:
    vocabulary = load(HERE / "vocabulary.yaml")
    with tempfile.TemporaryDirectory() as cache:
        tts = TextToSpeech(Path(cache))
        for language, words in vocabulary.items():
            out_dir = HERE / language
            out_dir.mkdir(exist_ok=True)
            for stale in out_dir.glob("*.wav"):  # words dropped from the texts
                if stale.stem not in words:
                    stale.unlink()
            for word_id, text in sorted(words.items()):
                target = out_dir / f"{word_id}.wav"
                if not text.strip():  # a word this language leaves unsaid
                    write_wav(target, np.zeros(0, dtype=np.int16))
                    continue
                write_wav(target, tts.speak(text, language))
            print(f"{language}: {len(words)} words in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
