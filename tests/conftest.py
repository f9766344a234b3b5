"""Suite-wide isolation for state that lives in the process, not in a test's tmp_path."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_ivrbox_log_level() -> Iterator[None]:
    """`ivrbox run` raises the "ivrbox" logger to INFO when a test runs it in-process;
    left there, later tests would capture (and keep) every engine event record."""
    logger = logging.getLogger("ivrbox")
    level = logger.level
    yield
    logger.setLevel(level)
