"""Reading YAML the way an installer means it, and remembering where each key was.

Contents: `read(text) -> (data, lines, duplicates)`: the document as plain Python
data, a map from every key path to its line (1-based), and the duplicate keys found
(PyYAML would silently keep the last one); `write(data) -> str`.

The loader follows YAML 1.2's core schema rather than PyYAML's YAML 1.1 defaults,
which would turn `18:00` into 1080 (base 60), `no` into False, and `0912345678` into an
octal or decimal number. Here only true/false are booleans, only plain decimals without
a leading zero are integers, and mapping keys are always strings (menu key `1:` is "1").
`yaml.YAMLError` (syntax errors) passes through to the caller, with its mark.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars and string keys."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key: Any = key_node.value
            else:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, "a key must be a plain word or number",
                    key_node.start_mark,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)\.[0-9]*)(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)


def _index(node: yaml.Node, path: Path, lines: dict[Path, int], dupes: list[tuple[Path, int, int]],
           on_path: set[int]) -> None:
    if id(node) in on_path:  # an alias that contains itself
        return
    on_path.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            sub = path + (key_node.value,)
            line = key_node.start_mark.line + 1
            if sub in lines and key_node.value != "<<":
                dupes.append((sub, line, lines[sub]))
                continue  # its own keys would all look duplicated too
            lines[sub] = line
            _index(value_node, sub, lines, dupes, on_path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _index(item, path + (i,), lines, dupes, on_path)
    on_path.discard(id(node))


def read(text: str) -> tuple[Any, dict[Path, int], list[tuple[Path, int, int]]]:
    """(data, key path -> line, [(duplicate path, its line, first line)])."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        dupes: list[tuple[Path, int, int]] = []
        if node is None:
            return None, lines, dupes
        lines[()] = node.start_mark.line + 1
        _index(node, (), lines, dupes, set())
        return loader.construct_document(node), lines, dupes
    finally:
        loader.dispose()


class _Dumper(yaml.SafeDumper):
    """Block style, keys in model order, Unicode kept readable (中文 stays 中文)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent list items under their key


def write(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)
