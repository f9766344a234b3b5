"""One exception tree, so callers can catch "anything ivrbox" or one precise failure.

Every message is written for the person who will read it (an owner or an installer):
it says what is wrong and, where possible, what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass


class IvrboxError(Exception):
    """Base of every error ivrbox raises on purpose."""


class UsageError(IvrboxError, ValueError):
    """A caller passed a value that makes no sense (unknown country, bad digit string)."""


class AudioFormatError(IvrboxError):
    """A file is missing, is not audio, or cannot be decoded."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a config document, located as precisely as we can."""

    file: str
    line: int | None
    path: str  # dotted, e.g. "flow.main_menu.options.1"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(IvrboxError):
    """A config document is invalid; carries *all* problems found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid config")


class LineError(IvrboxError):
    """The phone line (modem, FXO board, simulation) failed an operation."""


class LineGone(LineError):
    """The line's hardware disappeared (USB modem unplugged, sound card gone)."""


class ModemError(LineError):
    """A voice modem answered with ERROR, garbage, or not at all."""


class UploadRejected(IvrboxError):
    """An uploaded file was refused; the message is the reason shown to the owner."""


class StoreError(IvrboxError):
    """The data directory or database could not be read or written."""
