"""Shared helpers: a minimal valid config and a way to list a text's problems."""

from __future__ import annotations

import textwrap

import pytest

from firmware.errors import ConfigError
from firmware.settings import parse

MINIMAL = """\
business:
  name: Test Office
  timezone: America/New_York
  country: us
prompts:
  hello: {en: Hello}
  bye: {en: Goodbye}
flow:
  entry: main
  nodes:
    main:
      type: menu
      prompt: hello
      options: {"1": bye}
      operator_key: null
      final: bye
    bye:
      type: hangup
      prompt: bye
"""


def found(text: str, filename: str = "test.yaml") -> list[tuple[int | None, str, str]]:
    """(line, path, message) of every problem in `text` (dedented); fails if it is valid."""
    with pytest.raises(ConfigError) as info:
        parse(textwrap.dedent(text), filename)
    return [(p.line, p.path, p.message) for p in info.value.problems]


def one(text: str) -> tuple[int | None, str, str]:
    problems = found(text)
    assert len(problems) == 1, problems
    return problems[0]
