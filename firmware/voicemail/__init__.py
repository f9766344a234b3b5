"""Voicemail: crash-safe recording and the message lifecycle.

API index:
    WavRecorder, Recording, recover, read_wav_samples   (recorder: crash-safe 8 kHz WAV)
    Voicemail, MailboxPolicy, PinCheck                  (mailbox: messages, PIN lock-out)
"""

from __future__ import annotations

from firmware.voicemail.mailbox import MailboxPolicy, PinCheck, Voicemail
from firmware.voicemail.recorder import Recording, WavRecorder, read_wav_samples, recover

__all__ = ["MailboxPolicy", "PinCheck", "Recording", "Voicemail", "WavRecorder",
           "read_wav_samples", "recover"]
