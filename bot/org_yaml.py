"""YAML text to a node tree and plain data, with line numbers for every problem.

PyYAML composes the text into a node tree (syntax errors carry their line) and a YAML 1.2-like
resolver turns it into plain data (`12:00` stays a string, `no` is not False, dates stay text
for the models to check). A location path, e.g. ("units", 3, "parent"), is walked through the
node tree to find its line.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot.org_errors import ConfigProblem, OrgConfigError, by_line

Loc = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars.

    YAML 1.1 would read `12:00` as the base-60 integer 720, `NO` as False and `2027-02-30`
    as a crash; here they stay strings and the models say what is wrong with them.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's own class table


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


def compose(text: str, source: str) -> tuple[yaml.Node, Any]:
    """The node tree of `text` and the plain data it stands for; OrgConfigError if unusable."""
    try:
        loader = _Loader(text)  # reads the whole text: refuses control characters here
    except yaml.reader.ReaderError as exc:
        raise OrgConfigError(source, [_unreadable(text, exc)]) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise OrgConfigError(source, [ConfigProblem(1, "the file is empty")])
        _raise_on_duplicate_keys(root, source)
        return root, loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        raise OrgConfigError(source, [_syntax_problem(exc)]) from None
    except yaml.reader.ReaderError as exc:
        raise OrgConfigError(source, [_unreadable(text, exc)]) from None
    except yaml.YAMLError as exc:
        raise OrgConfigError(source, [ConfigProblem(None, f"YAML error: {exc}")]) from None
    except (ValueError, TypeError) as exc:  # a tagged value that is not what it says: !!int five
        problem = ConfigProblem(None, f"a value cannot be read: {exc}")
        raise OrgConfigError(source, [problem]) from None
    finally:
        loader.dispose()


def _unreadable(text: str, exc: yaml.reader.ReaderError) -> ConfigProblem:
    """A control character (pasted from somewhere) on its line."""
    line = text[:exc.position].count("\n") + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
    return ConfigProblem(line, f"a character that cannot be in the file (U+{code:04X}): "
                               "delete it and type the text again")


def _syntax_problem(exc: yaml.MarkedYAMLError) -> ConfigProblem:
    mark = exc.problem_mark or exc.context_mark
    message = f"YAML syntax error: {exc.problem or exc.context}"
    if exc.context and exc.context_mark is not None and exc.problem:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    if "expected <block end>" in message or "mapping values are not allowed" in message:
        message += "; check the indentation of this line and the one before"
    return ConfigProblem(mark.line + 1 if mark is not None else None, message)


def _raise_on_duplicate_keys(root: yaml.Node, source: str) -> None:
    problems: list[ConfigProblem] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, yaml.ScalarNode):
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            problems += _duplicates_in(node)
            stack += [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    if problems:
        raise OrgConfigError(source, by_line(problems))


def _duplicates_in(mapping: yaml.MappingNode) -> list[ConfigProblem]:
    first: dict[str, int] = {}
    problems = []
    for key, _value in mapping.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        line = _node_line(key)
        if key.value in first:
            text = f'key "{key.value}" appears twice (first on line {first[key.value]})'
            problems.append(ConfigProblem(line, text))
        else:
            first[key.value] = line
    return problems


def _node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1 if node.start_mark is not None else 1


def _child(node: yaml.Node, part: str | int, *, key: bool = False) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key_node, value_node in node.value:
            if key_node.value == part:
                found: yaml.Node = key_node if key else value_node
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        item: yaml.Node | None = node.value[part] if 0 <= part < len(node.value) else None
        return item
    return None


def line_of(root: yaml.Node, loc: Loc, *, key: bool = False) -> int:
    """The line of the node at `loc`, or of the deepest node on the way that exists."""
    node = root
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        child = _child(node, part, key=key and last)
        if child is None:
            break
        node = child
    return _node_line(node)
