"""Dotted paths into a scenario's plain data: read, replace or remove one part of it.

A path names one place in the data of a scenario (what :meth:`Scenario.to_dict
<simulator.data.scenario.Scenario.to_dict>` returns, or a YAML file as read)::

    suppliers.overseas.disruptions.0
    policies.safety_stock.service_level
    skus.MUG-01.demand.per_day.sd        # a SKU by its id
    skus.0.unit_cost                     # or by its index
    skus["A.B"].unit_cost                # a part with dots (or brackets) in quotes

Parts are separated by dots. A mapping (suppliers, policies) is entered by key, a
list by item number; the items of a list whose entries all carry an ``id`` (the
SKUs) are also found by id. A part in quotes (``"..."`` or ``'...'``, after a dot or
inside brackets) is always a key or an id, never a number; ``[3]`` and a bare ``3``
are item numbers. A bare number that is an item number *and* another item's id
(SKU ``3`` at index 2) is refused as ambiguous rather than guessed.

The functions never change their input: :func:`set_value` and :func:`delete`
return a changed deep copy. Every problem raises :class:`PathError`, one line that
names the path, the part that failed and what exists there, with a "did you mean"
when a name is close. The ``compare`` command removes parts with them; a sweep will
set them.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Part", "PathError", "delete", "delete_many", "format_path", "get", "parse",
           "resolve", "set_value"]

Part = str | int
"""One step of a path: a mapping key or SKU id (str), or a list item number (int)."""

_SPECIAL = frozenset(".[]\"'\\")
_SHOWN = 12
"""At most this many names are listed in an error."""


class PathError(ValueError):
    """A path cannot be read or does not lead anywhere in the data; the message is one line."""


@dataclass(frozen=True)
class _Token:
    """A parsed part and how it was written (a bare number may also be an id)."""

    value: Part
    bare: bool


# --------------------------------------------------------------------------- parsing


def parse(path: str) -> list[Part]:
    """Split a dotted path into its parts: item numbers as ``int``, keys and ids as ``str``.

    Raises:
        PathError: the path is empty, has an empty part, or an unclosed quote or bracket.

    """
    return [t.value for t in _tokens(path)]


def _tokens(path: str | Sequence[Part]) -> list[_Token]:
    """Parse a path string; a sequence of parts is taken as already parsed (explicit)."""
    if not isinstance(path, str):
        parts = list(path)
        if not parts:
            raise PathError("path: must name at least one part, got none")
        for p in parts:
            if isinstance(p, bool) or not isinstance(p, str | int):
                raise PathError(f"path: parts must be keys or item numbers, got {p!r}")
        return [_Token(p, bare=False) for p in parts]
    if not path.strip():
        raise PathError("path: must name at least one part, got an empty path")
    out: list[_Token] = []
    i, n = 0, len(path)
    expect_part = True  # at the start and after a dot a part must follow
    while i < n:
        c = path[i]
        if expect_part:
            if c in "\"'":
                text, i = _quoted(path, i)
                out.append(_Token(text, bare=False))
            elif c in ".]":
                raise PathError(f"{path}: empty part at position {i + 1}")
            elif c == "[":
                i = _bracket(path, i, out)
            else:
                j = i
                while j < n and path[j] not in _SPECIAL:
                    j += 1
                if j < n and path[j] in "\"'\\":
                    raise PathError(
                        f"{path}: a quote inside a part at position {j + 1}; "
                        "put the whole part in quotes"
                    )
                text = path[i:j]
                out.append(_Token(int(text), bare=True) if _is_number(text) else
                           _Token(text, bare=True))
                i = j
            expect_part = False
        elif c == ".":
            i += 1
            expect_part = True
            if i == n:
                raise PathError(f"{path}: ends with a dot; a part must follow it")
        elif c == "[":
            i = _bracket(path, i, out)
        else:
            raise PathError(f"{path}: expected '.' or '[' at position {i + 1}, got {c!r}")
    return out


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _quoted(path: str, i: int) -> tuple[str, int]:
    """Read a quoted part starting at ``path[i]``; return its text and the index after it."""
    quote, j, text = path[i], i + 1, []
    while j < len(path):
        c = path[j]
        if c == "\\" and j + 1 < len(path):
            text.append(path[j + 1])
            j += 2
            continue
        if c == quote:
            return "".join(text), j + 1
        text.append(c)
        j += 1
    raise PathError(f"{path}: unclosed quote {quote} at position {i + 1}")


def _bracket(path: str, i: int, out: list[_Token]) -> int:
    """Read ``[3]`` or ``["key"]`` at ``path[i]`` into ``out``; return the index after it."""
    j = i + 1
    if j < len(path) and path[j] in "\"'":
        text, j = _quoted(path, j)
        token = _Token(text, bare=False)
    else:
        k = path.find("]", j)
        if k < 0:
            raise PathError(f"{path}: unclosed [ at position {i + 1}")
        inner = path[j:k].strip()
        if not _is_number(inner):
            raise PathError(
                f"{path}: [{inner}] at position {i + 1} must be an item number or a quoted "
                f'key, e.g. [0] or ["{inner}"]'
            )
        token, j = _Token(int(inner), bare=False), k
    if j >= len(path) or path[j] != "]":
        raise PathError(f"{path}: unclosed [ at position {i + 1}")
    out.append(token)
    return j + 1


def format_path(parts: Sequence[Part]) -> str:
    """Write parts back as a path: ``skus["A.B"].unit_cost``, ``suppliers.x.disruptions.0``.

    ``parse(format_path(parts)) == list(parts)`` for any parts.
    """
    text = ""
    for k, p in enumerate(parts):
        if isinstance(p, int):
            text += f".{p}" if k else f"[{p}]"
        elif p and not _is_number(p) and not any(c in _SPECIAL for c in p):
            text += f".{p}" if k else p
        else:
            escaped = p.replace("\\", "\\\\").replace('"', '\\"')
            text += f'["{escaped}"]'
    return text


# --------------------------------------------------------------------------- walking


def _names(names: Sequence[str]) -> str:
    """List names for an error, cut after a dozen."""
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", … ({len(names)} in all)" if len(names) > _SHOWN else "")


def _close(word: str, names: Sequence[str]) -> str:
    """Return ``; did you mean 'x'?`` when one of ``names`` is close to ``word``."""
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _items(seq: list) -> str:
    """Describe which item numbers a list has."""
    n = len(seq)
    if n == 0:
        return "the list is empty"
    numbers = ", ".join(str(k) for k in range(n)) if n <= 6 else f"0..{n - 1}"
    return f"the list has {n} item{'s' * (n != 1)}: {numbers}"


def _ids(seq: list) -> list[str] | None:
    """Return the ids of a list whose items all carry one (the SKUs), else None."""
    if seq and all(isinstance(x, Mapping) and "id" in x for x in seq):
        return [str(x["id"]) for x in seq]
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__}"


class _Walk:
    """Resolve the parts of one path, step by step, with errors that name where it failed."""

    def __init__(self, path: str | Sequence[Part]) -> None:
        self.tokens = _tokens(path)
        self.full = path if isinstance(path, str) else format_path(self.values())

    def values(self, upto: int | None = None) -> list[Part]:
        """Return the parts, or the first ``upto`` of them."""
        return [t.value for t in self.tokens[:upto]]

    def fail(self, k: int, problem: str) -> PathError:
        """Build the error of part ``k``: ``path: problem``, or ``path: prefix: problem``."""
        if k == len(self.tokens) - 1:
            return PathError(f"{self.full}: {problem}")
        return PathError(f"{self.full}: {format_path(self.values(k + 1))}: {problem}")

    def walk(self, data: Any, count: int | None = None) -> tuple[list[Part], Any]:
        """Resolve the first ``count`` parts (all by default); return them and the node reached."""
        node, keys = data, []
        for k in range(len(self.tokens) if count is None else count):
            key = self.step(node, k, keys[-1] if keys else None)
            keys.append(key)
            node = node[key]
        return keys, node

    def step(self, node: Any, k: int, parent: Part | None) -> Part:
        """Return the concrete key or item number of part ``k`` inside ``node``."""
        tok = self.tokens[k]
        part = tok.value
        if isinstance(node, Mapping):
            if part in node:
                return part
            if isinstance(part, int) and str(part) in node:
                return str(part)
            names = [str(x) for x in node]
            if not names:
                raise self.fail(k, "no such key (the mapping is empty)")
            raise self.fail(k, f"no such key ({_names(names)}{_close(str(part), names)})")
        if isinstance(node, list):
            return self._item(node, k, parent)
        if k == 0:
            raise PathError(f"{self.full}: the data is {_kind(node)}, it has no parts")
        above = format_path(self.values(k))
        raise PathError(
            f"{self.full}: {above} is {_kind(node)} ({_short(node)}), it has no part '{part}'"
        )

    def _item(self, seq: list, k: int, parent: Part | None) -> int:
        """Find part ``k`` in a list: by item number, or by id in a list of SKUs."""
        tok = self.tokens[k]
        part = tok.value
        ids = _ids(seq)
        noun = "SKU" if parent == "skus" else "item"
        if isinstance(part, str):
            if ids is None:
                raise self.fail(
                    k, f"a list is entered by item number, got '{part}' ({_items(seq)})"
                )
            if part in ids:
                return ids.index(part)
            raise self.fail(k, f"no {noun} with that id ({_names(ids)}{_close(part, ids)})")
        in_range = 0 <= part < len(seq)
        id_at = ids.index(str(part)) if ids is not None and str(part) in ids else None
        if tok.bare and id_at is not None:
            if not in_range:
                return id_at  # no item of that number: the number can only be the id
            if id_at != part:
                raise self.fail(
                    k,
                    f"ambiguous: item {part} is {noun} '{ids[part]}', and {noun} '{part}' is "
                    f'item {id_at}; write [{part}] for the item number or ["{part}"] for the id',
                )
        if in_range:
            return part
        extra = f"; {noun}s {_names(ids)}" if ids is not None else ""
        hint = f'; {noun} \'{part}\' is ["{part}"]' if id_at is not None else ""
        raise self.fail(k, f"no such item ({_items(seq)}{extra}){hint}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def resolve(data: Any, path: str | Sequence[Part]) -> list[Part]:
    """Return the concrete parts of ``path`` in ``data``: SKU ids become item numbers.

    Two paths that name the same place resolve to the same parts
    (``skus.MUG-01`` and ``skus.0`` when MUG-01 is the first SKU).

    Raises:
        PathError: the path is malformed or leads nowhere in ``data``.

    """
    return _Walk(path).walk(data)[0]


def get(data: Any, path: str | Sequence[Part]) -> Any:
    """Return the value at ``path`` (the data itself, not a copy).

    Raises:
        PathError: the path is malformed or leads nowhere in ``data``.

    """
    node = data
    for key in resolve(data, path):
        node = node[key]
    return node


def set_value(data: Any, path: str | Sequence[Part], value: Any) -> Any:
    """Return a deep copy of ``data`` with the value at ``path`` replaced by ``value``.

    The last part may name a key the mapping does not have yet (it is added), or
    the item number one past the end of a list (the value is appended); every
    part before it must exist.

    Raises:
        PathError: the path is malformed or leads nowhere in ``data``.

    """
    walk = _Walk(path)
    n = len(walk.tokens)
    parent_keys, _ = walk.walk(data, n - 1)
    out = copy.deepcopy(data)
    node: Any = out
    for key in parent_keys:
        node = node[key]
    last = walk.tokens[-1].value
    if isinstance(node, Mapping) and last not in node and str(last) not in node:
        node[str(last)] = copy.deepcopy(value)
        return out
    if isinstance(node, list) and isinstance(last, int) and last == len(node):
        node.append(copy.deepcopy(value))
        return out
    key = walk.step(node, n - 1, parent_keys[-1] if parent_keys else None)
    node[key] = copy.deepcopy(value)
    return out


def delete(data: Any, path: str | Sequence[Part]) -> Any:
    """Return a deep copy of ``data`` without the mapping key or list item at ``path``.

    Raises:
        PathError: the path is malformed or leads nowhere in ``data``.

    """
    return delete_many(data, [path])


def delete_many(data: Any, paths: Sequence[str | Sequence[Part]]) -> Any:
    """Return a deep copy of ``data`` without every place the paths name.

    Every path is resolved in the original data, so ``disruptions.0`` and
    ``disruptions.1`` remove the first two items whatever the order they are given
    in; a place named twice (or inside another removed one) is removed once.

    Raises:
        PathError: a path is malformed or leads nowhere in ``data``.

    """
    resolved = {tuple(resolve(data, p)) for p in paths}
    out = copy.deepcopy(data)
    # Deepest and highest-numbered first: removing a list item shifts only the items
    # after it, and a place inside a removed one is gone with it.
    for keys in sorted(resolved, key=_order, reverse=True):
        if any(keys[: len(other)] == other and keys != other for other in resolved):
            continue  # inside another removed place
        node = out
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]
    return out


def _order(keys: tuple[Part, ...]) -> tuple[tuple[int, Any], ...]:
    """Sort key for resolved parts that never compares a number with a text."""
    return tuple((0, k) if isinstance(k, int) else (1, k) for k in keys)
