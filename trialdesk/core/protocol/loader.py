"""Load a protocol from YAML: parse with line numbers, validate, locate every problem."""

from __future__ import annotations

import difflib
import hashlib
import threading
import types
import typing
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from trialdesk.core.protocol.checks import check_protocol, protocol_warnings
from trialdesk.core.protocol.errors import Problem, ProtocolError
from trialdesk.core.protocol.protocol import Protocol

Loc = tuple[str | int, ...]

_CACHE: OrderedDict[str, Protocol] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8
MAX_NODES = 200_000  # the study file has about 6,300


def load_protocol(path: str | Path) -> Protocol:
    """Load and validate the protocol file at ``path``.

    Raises
    ------
    ProtocolError
        With every problem found, each located by YAML path and line.
    FileNotFoundError
        If there is no such file.
    """
    path = Path(path)
    return load_protocol_text(path.read_text(encoding="utf-8"), source=str(path))


def load_protocol_text(text: str, *, source: str = "<text>") -> Protocol:
    """Load and validate a protocol from YAML ``text`` (``source`` names it in messages).

    Successful loads are cached by the text's SHA-256 (the model is frozen), so loading the
    same file again in one process is free; a failing text is parsed again every time.
    """
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
    protocol = _load(text, source)
    with _CACHE_LOCK:
        _CACHE[key] = protocol
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return protocol


def _load(text: str, source: str) -> Protocol:
    tree = _compose(text, source)
    data = _construct(tree, source)
    try:
        protocol = Protocol.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ProtocolError([_pydantic_problem(tree, e) for e in exc.errors()], source) from None
    problems = [locate(tree, loc, message) for loc, message in check_protocol(protocol)]
    if problems:
        raise ProtocolError(problems, source)
    return protocol


def locate_warnings(text: str, protocol: Protocol, *, source: str = "<text>") -> list[Problem]:
    """``checks.protocol_warnings`` of ``protocol`` (loaded from ``text``), each located by
    YAML path and line like an error."""
    tree = _compose(text, source)
    return [locate(tree, loc, message) for loc, message in protocol_warnings(protocol)]


def _yaml() -> YAML:
    # YAML 1.2 (ruamel), safe types only. Composing first keeps every node's line; the data
    # is then constructed from those nodes, so lines and values come from one parse.
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    return yaml


def _compose(text: str, source: str) -> MappingNode:
    """Parse ``text`` into a node tree with line numbers, refusing duplicate keys."""
    try:
        tree = _yaml().compose(text)
    except MarkedYAMLError as exc:
        raise ProtocolError([_marked_problem(exc)], source) from None
    if not isinstance(tree, MappingNode):
        problem = Problem("", 1, "the file must be a YAML mapping (key: value)")
        raise ProtocolError([problem], source)
    _check_expanded_size(tree, source)
    duplicates: list[Problem] = []
    _walk_for_duplicates(tree, [], duplicates)
    if duplicates:
        raise ProtocolError(duplicates, source)
    return tree


def _check_expanded_size(tree: Node, source: str) -> None:
    """Refuse files whose aliases expand to an absurd size (a "billion laughs" file)."""
    stack, count = [tree], 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            problem = Problem("", 1, f"the file expands to more than {MAX_NODES} YAML nodes")
            raise ProtocolError([problem], source)
        if isinstance(node, MappingNode):
            stack.extend(v for pair in node.value for v in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _construct(tree: MappingNode, source: str) -> Any:
    """Python values (dicts, lists, str, int, float, bool, dates) from the node tree."""
    yaml = _yaml()
    try:
        return yaml.constructor.construct_document(tree)
    except MarkedYAMLError as exc:
        raise ProtocolError([_marked_problem(exc)], source) from None


def _marked_problem(exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    return Problem("", line, (exc.problem or str(exc)).strip())


def _walk_for_duplicates(node: Node, path: list[str], problems: list[Problem]) -> None:
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _walk_for_duplicates(item, [*path, str(index)], problems)
    if not isinstance(node, MappingNode):
        return
    seen: dict[tuple[str, str], int] = {}
    for key_node, value_node in node.value:
        key = (str(key_node.tag), str(key_node.value))
        line = key_node.start_mark.line + 1
        if key in seen and key[1] != "<<":
            message = (
                f"duplicate key {key[1]!r} (first on line {seen[key]}): codes and keys must "
                "be unique"
            )
            problems.append(Problem(".".join([*path, key[1]]), line, message))
        seen.setdefault(key, line)
        _walk_for_duplicates(value_node, [*path, key[1]], problems)


# --------------------------------------------------------------------------- locating
def locate(tree: Node, loc: Loc, message: str) -> Problem:
    """Map a location inside the data (keys and indexes) to a YAML path and line."""
    node, line, parts = tree, 1, []
    for index, seg in enumerate(loc):
        found = _child(node, seg)
        if found is None:
            if index == len(loc) - 1 and isinstance(seg, str):
                parts.append(seg)  # a missing key: point at its parent
            continue
        node, line = found
        parts.append(str(seg))
    return Problem(".".join(parts), line, message)


def _child(node: Node, seg: str | int) -> tuple[Node, int] | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if str(key_node.value) == str(seg):
                return value_node, key_node.start_mark.line + 1
        return None
    if isinstance(node, SequenceNode) and isinstance(seg, int) and 0 <= seg < len(node.value):
        item = node.value[seg]
        return item, item.start_mark.line + 1
    return None


# --------------------------------------------------------------------------- pydantic errors
def _pydantic_problem(tree: Any, error: Mapping[str, Any]) -> Problem:
    loc = tuple(seg for seg in error["loc"] if seg != "[key]")
    return locate(tree, loc, _message(error, loc))


def _message(error: Mapping[str, Any], loc: Loc) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key_message(loc)
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    value = error.get("input")
    shown = repr(value) if not isinstance(value, Mapping | list) else type(value).__name__
    return f"{error['msg'].rstrip('.')} (got {shown})"


def _unknown_key_message(loc: Loc) -> str:
    key = str(loc[-1])
    allowed = _allowed_keys(loc[:-1])
    if not allowed:
        return f"unknown key {key!r}"
    near = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return f"unknown key {key!r} ({hint}allowed: {', '.join(allowed)})"


def _allowed_keys(loc: Loc) -> list[str]:
    """Keys the model at ``loc`` accepts (``code`` is implied by the mapping key)."""
    model = _model_at(Protocol, loc)
    if model is None:
        return []
    return [name for name in model.model_fields if name != "code"]


def _model_at(annotation: Any, loc: Loc) -> type[BaseModel] | None:
    current = annotation
    for seg in loc:
        current = _step(current, seg)
        if current is None:
            return None
    current = _strip(current)
    return current if _is_model(current) else None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated[...]`` and ``X | None`` wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is Annotated:
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _step(annotation: Any, seg: str | int) -> Any:
    current = _strip(annotation)
    if _is_model(current):
        field = current.model_fields.get(seg) if isinstance(seg, str) else None
        return field.annotation if field else None
    origin = typing.get_origin(current)
    args = typing.get_args(current)
    if origin is dict:
        return args[1]
    if origin in (tuple, list):
        return args[0]
    if origin in (typing.Union, types.UnionType):
        return next((m for m in args if _tag(m) == seg), None)
    return None


def _tag(model: Any) -> Any:
    if isinstance(model, type) and issubclass(model, BaseModel) and "type" in model.model_fields:
        args = typing.get_args(model.model_fields["type"].annotation)
        return args[0] if args else None
    return None
