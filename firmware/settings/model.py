"""`Settings`: the whole config document, one frozen model of all sections.

Contents: `Settings` (fields `version`, `business`, `line`, `lines`, `hours`, `prompts`,
`mailboxes`, `people`, `smtp`, `caller_rules`, `flow`, `limits`, `page_url`,
`webhooks`), `SECTIONS` (the
section names in document order) and `GRAPH_CHECKS` (the validation-context key that
`load.parse` uses to run the cross-field checks itself, with line numbers).

A `Settings` built any way — `parse`, `load`, or `Settings.model_validate(dict)` in
code — has passed the graph checks, so the engine can trust every reference in it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from firmware.settings import graph
from firmware.settings.base import FrozenMap, Model, NodeId, PromptId, empty_map
from firmware.settings.flow import Flow
from firmware.settings.hours import Hours
from firmware.settings.integrations import PageUrl, Webhook
from firmware.settings.lines import LineEntry
from firmware.settings.sections import (
    Business,
    CallerRules,
    Limits,
    LineConfig,
    Mailbox,
    Person,
    Prompt,
    Smtp,
)

GRAPH_CHECKS = "graph_checks"  # validation context key: False = the caller runs them

Name = NodeId  # keys of mailboxes and people follow the same rule as node ids


class Settings(Model):
    """One ivrbox config. See config/README.md for the YAML and config/default.yaml."""

    version: Literal[1] = Field(1, description="format version of this document")
    business: Business
    line: LineConfig = Field(default_factory=LineConfig)
    lines: tuple[LineEntry, ...] = Field(
        (), description="several phone lines (each with its name, backend, device and entry); "
        "empty = the one line of `line`")
    hours: Hours = Field(default_factory=Hours, description="opening hours; empty = never open")
    prompts: FrozenMap[PromptId, Prompt] = Field(description="prompt id -> texts/recordings")
    mailboxes: FrozenMap[Name, Mailbox] = Field(default_factory=empty_map)
    people: FrozenMap[Name, Person] = Field(
        default_factory=empty_map, description="the only numbers a forward may dial"
    )
    smtp: Smtp | None = Field(None, description="mail server; needed for e-mail")
    caller_rules: CallerRules = Field(default_factory=CallerRules)
    flow: Flow
    limits: Limits = Field(default_factory=Limits)
    page_url: PageUrl | None = Field(
        None, description="the owner's page as people reach it (links in notifications)")
    webhooks: FrozenMap[Name, Webhook] = Field(
        default_factory=empty_map, description="name -> receiver of call events")

    @model_validator(mode="after")
    def _fits_together(self, info: ValidationInfo) -> Settings:
        if info.context and info.context.get(GRAPH_CHECKS) is False:
            return self
        problems = graph.check(sections_of(self))
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))
        return self


SECTIONS: tuple[str, ...] = tuple(Settings.model_fields)


def sections_of(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in SECTIONS}
