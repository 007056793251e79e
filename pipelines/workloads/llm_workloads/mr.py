"""VIGGO meaning representations: `act(slot[value], slot[value, value], ...)`.

The parser is used on model output, so it never raises: malformed text is a `ParseError`
carrying a human-readable reason.

Deliberate choices, checked against the VIGGO data in ../shared/data/viggo:

* Values may contain commas and parentheses (`esrb[E 10+ (for Everyone 10 and Older)]`,
  `developer[Spectrum HoloByte, Inc.]`). A value is everything up to the next `]`; a `[` inside
  a value is a parse error (VIGGO never nests brackets).
* Only the list-valued slots (`genres`, `platforms`, `player_perspective`) are split on commas
  into several values; every other slot keeps its text as one value, so "Spectrum HoloByte, Inc."
  stays one developer.
* An empty bracket pair (`request_attribute(specifier[])`, used by VIGGO's request_attribute act)
  is a slot with no values.
* Markdown-escaped underscores in identifiers (`give\\_opinion`, `release\\_year`), a common
  artefact of chat models, are unescaped. Values are left as written.
* Surrounding whitespace and whitespace around separators are ignored; values are stripped.
* A slot named twice is a parse error: the meaning would be ambiguous.
* Vocabulary (known acts/slots) is not a syntax matter; `vocabulary_problems` reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VIGGO_ACTS: tuple[str, ...] = (
    "inform",
    "request",
    "give_opinion",
    "confirm",
    "verify_attribute",
    "suggest",
    "request_explanation",
    "recommend",
    "request_attribute",
)
VIGGO_SLOTS: tuple[str, ...] = (
    "name",
    "exp_release_date",
    "release_year",
    "developer",
    "esrb",
    "rating",
    "genres",
    "player_perspective",
    "has_multiplayer",
    "platforms",
    "available_on_steam",
    "has_linux_release",
    "has_mac_release",
    "specifier",
)
# Slots whose bracket text is a comma-separated list of values.
LIST_VALUED_SLOTS: frozenset[str] = frozenset({"genres", "platforms", "player_perspective"})

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class MeaningRepresentation:
    """One dialogue act with its slots, in the order they were written."""

    act: str
    slots: tuple[tuple[str, tuple[str, ...]], ...]

    def slot_dict(self) -> dict[str, tuple[str, ...]]:
        """Slot name -> values (slot names are unique in a parsed representation)."""
        return dict(self.slots)

    def slot_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.slots)


@dataclass(frozen=True)
class ParseOk:
    value: MeaningRepresentation
    ok: bool = True


@dataclass(frozen=True)
class ParseError:
    reason: str
    ok: bool = False


ParseResult = ParseOk | ParseError


def _identifier(raw: str) -> str:
    return raw.strip().replace("\\_", "_")


def _split_values(slot: str, raw: str) -> tuple[str, ...] | str:
    """Values of one slot, or an error reason."""
    text = raw.strip()
    if text == "":
        return ()
    if slot not in LIST_VALUED_SLOTS:
        return (text,)
    items = tuple(item.strip() for item in text.split(","))
    if any(item == "" for item in items):
        return f"empty item in the value list of slot '{slot}'"
    return items


def parse_mr(text: str) -> ParseResult:
    """Parse `act(slot[value], ...)`. Never raises; malformed input gives `ParseError(reason)`."""
    if not isinstance(text, str):
        return ParseError(f"expected text, got {type(text).__name__}")
    s = text.strip()
    if s == "":
        return ParseError("empty text")
    open_at = s.find("(")
    if open_at < 0:
        return ParseError("missing '(' after the act name")
    act = _identifier(s[:open_at])
    if act == "":
        return ParseError("missing act name before '('")
    if not _IDENTIFIER.match(act):
        return ParseError(f"act name {act[:40]!r} is not an identifier")

    slots: list[tuple[str, tuple[str, ...]]] = []
    seen: set[str] = set()
    pos = open_at + 1
    n = len(s)
    while True:
        while pos < n and s[pos].isspace():
            pos += 1
        if pos >= n:
            return ParseError("missing closing ')'")
        if s[pos] == ")":
            if slots:
                return ParseError("trailing ',' before ')'")
            break
        bracket = s.find("[", pos)
        if bracket < 0:
            return ParseError(f"expected 'slot[value]' at offset {pos}")
        slot = _identifier(s[pos:bracket])
        if slot == "":
            return ParseError(f"missing slot name before '[' at offset {bracket}")
        if not _IDENTIFIER.match(slot):
            return ParseError(f"slot name {slot[:40]!r} is not an identifier")
        close = s.find("]", bracket + 1)
        if close < 0:
            return ParseError(f"unclosed '[' in slot '{slot}'")
        raw_value = s[bracket + 1 : close]
        if "[" in raw_value:
            return ParseError(f"nested '[' in the value of slot '{slot}'")
        values = _split_values(slot, raw_value)
        if isinstance(values, str):
            return ParseError(values)
        if slot in seen:
            return ParseError(f"slot '{slot}' appears more than once")
        seen.add(slot)
        slots.append((slot, values))
        pos = close + 1
        while pos < n and s[pos].isspace():
            pos += 1
        if pos >= n:
            return ParseError("missing closing ')'")
        if s[pos] == ",":
            pos += 1
            continue
        if s[pos] == ")":
            break
        return ParseError(f"expected ',' or ')' after slot '{slot}', found {s[pos]!r}")
    rest = s[pos + 1 :].strip()
    if rest:
        return ParseError(f"unexpected text after ')': {rest[:40]!r}")
    return ParseOk(MeaningRepresentation(act=act, slots=tuple(slots)))


def render_mr(mr: MeaningRepresentation) -> str:
    """Canonical text of a representation; `parse_mr(render_mr(mr))` gives `mr` back.

    Raises ValueError for a representation that has no faithful text form (a value with a
    bracket, a comma inside one item of a list-valued slot, several values in a single-valued slot).
    """
    if not _IDENTIFIER.match(mr.act):
        raise ValueError(f"act {mr.act!r} is not an identifier")
    parts: list[str] = []
    seen: set[str] = set()
    for slot, values in mr.slots:
        if not _IDENTIFIER.match(slot):
            raise ValueError(f"slot name {slot!r} is not an identifier")
        if slot in seen:
            raise ValueError(f"slot {slot!r} appears more than once")
        seen.add(slot)
        if len(values) > 1 and slot not in LIST_VALUED_SLOTS:
            raise ValueError(f"slot {slot!r} is single-valued but has {len(values)} values")
        for value in values:
            if value == "" or value != value.strip():
                raise ValueError(f"value {value!r} of slot {slot!r} is empty or has surrounding spaces")
            if "[" in value or "]" in value:
                raise ValueError(f"value {value!r} of slot {slot!r} contains a bracket")
            if slot in LIST_VALUED_SLOTS and "," in value:
                raise ValueError(f"value {value!r} of list-valued slot {slot!r} contains a comma")
        parts.append(f"{slot}[{', '.join(values)}]")
    return f"{mr.act}({', '.join(parts)})"


def vocabulary_problems(mr: MeaningRepresentation) -> list[str]:
    """Acts and slots outside the VIGGO vocabulary (empty list when all are known)."""
    problems: list[str] = []
    if mr.act not in VIGGO_ACTS:
        problems.append(f"unknown act '{mr.act}'")
    for slot, _ in mr.slots:
        if slot not in VIGGO_SLOTS:
            problems.append(f"unknown slot '{slot}'")
    return problems
