"""The ivrbox config: one YAML document validated into immutable settings.

Contents (the public API; import from here):
- `load(path) -> Settings`, `parse(text, filename) -> Settings`: raise
  `firmware.errors.ConfigError` carrying every problem, each printed as
  `file:line section.field: message`; `problems(text, filename)` lists them instead;
  `dump(settings) -> str` writes YAML that loads back equal (the web page's editor);
- `Settings` and its sections (`Business`, `LineConfig`, `Hours`, `Prompt`, `Mailbox`,
  `Person`, `Smtp`, `CallerRules`, `Flow`, `Limits`, `Webhook`) and the flow's node
  types (including `LookupNode`); `EVENTS`, `PRESETS` (what webhooks send, and how);
- schedule helpers `status`, `is_open`, `next_change`, `next_open`;
- PIN helpers `hash_pin`, `verify_pin`;
- caller ID: `match_number`, `classify`, `vip_target`, `rings_for`, `entry_for`;
- several lines: `LineEntry`, `line_list(settings)` (every line, the one-line form
  included), `for_line(settings, name)` (the config as that line's engine sees it),
  `DEFAULT_LINE_NAME`.

Layout: `base` (shared types), `hours`, `sections`, `lines`, `flow` (node types), `model`
(`Settings`), `integrations` (webhooks), `graph` (cross-field checks), `salvage` (what of a
broken section can still be checked), `yamlio` (YAML with line numbers), `load`, `callers`.
The format for installers is described in config/README.md.
"""

from __future__ import annotations

from firmware.settings.base import LANGUAGES, match_number
from firmware.settings.callers import classify, entry_for, rings_for, vip_target
from firmware.settings.flow import (
    NODE_TYPES,
    BaseNode,
    CallbackNode,
    ExtensionNode,
    Flow,
    ForwardNode,
    HangupNode,
    LanguageNode,
    LookupNode,
    MailboxLoginNode,
    MenuNode,
    Node,
    PlayNode,
    ScheduleNode,
    ScreenNode,
    SurveyNode,
    VoicemailNode,
)
from firmware.settings.hours import Closure, Holiday, Hours, TimeRange, is_open, next_change, next_open, status
from firmware.settings.integrations import EVENTS, PRESETS, Webhook
from firmware.settings.lines import DEFAULT_LINE_NAME, LineEntry, for_line, line_list
from firmware.settings.load import dump, load, parse, problems
from firmware.settings.model import Settings
from firmware.settings.pins import MIN_PIN_LENGTH, hash_pin, verify_pin
from firmware.settings.sections import (
    COUNTRY_DEFAULTS,
    Business,
    CallerRules,
    Greeting,
    Greetings,
    Limits,
    LineConfig,
    Mailbox,
    Person,
    Prompt,
    Smtp,
    TemporaryGreeting,
    VipRoute,
)

__all__ = [
    "COUNTRY_DEFAULTS", "DEFAULT_LINE_NAME", "EVENTS", "LineEntry", "for_line", "line_list", "LANGUAGES", "LookupNode", "PRESETS", "Webhook", "MIN_PIN_LENGTH", "NODE_TYPES", "BaseNode", "Business",
    "CallbackNode", "CallerRules", "Closure", "ExtensionNode", "Flow", "ForwardNode", "Greeting",
    "Greetings", "HangupNode", "Holiday", "Hours", "LanguageNode", "Limits", "LineConfig",
    "Mailbox", "MailboxLoginNode", "MenuNode", "Node", "Person", "PlayNode", "Prompt",
    "ScheduleNode", "ScreenNode", "Settings", "Smtp", "SurveyNode", "TemporaryGreeting",
    "TimeRange", "VipRoute", "VoicemailNode", "classify", "dump", "entry_for", "hash_pin", "is_open", "load",
    "match_number", "next_change", "next_open", "parse", "problems", "rings_for", "status",
    "verify_pin", "vip_target",
]
