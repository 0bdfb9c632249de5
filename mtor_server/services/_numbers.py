"""Numbers no request may carry, whatever its type: a NaN or an infinity in a float or double field, or a
Timestamp outside what one can hold. One check driven by the message descriptors, applied to every request
of every service before a handler sees it (services/_guard.py), so that fields added later are covered too."""
from __future__ import annotations

import functools
import math
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from ..records import TIMESTAMP_MAX_S, TIMESTAMP_MIN_S

_FLOATS = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})
_TIMESTAMP = "google.protobuf.Timestamp"
_MAX_NANOS = 999_999_999


def number_problem(message: Message) -> str | None:
    """What is wrong with a number in `message`, naming its field (e.g. "ttl_s is inf; ..."); None when
    every number in it is usable."""
    if not _has_numbers(message.DESCRIPTOR):  # most requests: nothing to walk
        return None
    found = _problem(message)
    if found is None:
        return None
    path, what = found
    where = ".".join(reversed(path))
    return f"{where or 'the request'} {what}"


@functools.cache
def _has_numbers(descriptor: Descriptor) -> bool:
    """Whether a float, a double or a Timestamp can be reached from this message type."""
    seen: set[str] = set()
    todo = [descriptor]
    while todo:
        d = todo.pop()
        if d.full_name == _TIMESTAMP:
            return True
        if d.full_name in seen:
            continue
        seen.add(d.full_name)
        for field in d.fields:
            if field.type in _FLOATS:
                return True
            if field.message_type is not None:
                todo.append(field.message_type)
    return False


def _problem(message: Message) -> tuple[list[str], str] | None:
    """The first unusable number: (its field path, innermost name first; what is wrong). Paths are made only
    for what is wrong: every message a worker streams passes through here."""
    if message.DESCRIPTOR.full_name == _TIMESTAMP:
        what = _timestamp_problem(message)
        return None if what is None else ([], what)
    for field, value in message.ListFields():
        kind = _map_value(field)
        if kind is not None:
            items: Any = ((f"{field.name}[{key!r}]", value[key]) for key in value)
        elif field.is_repeated:
            kind, items = field, ((f"{field.name}[{i}]", item) for i, item in enumerate(value))
        else:
            kind, items = field, ((field.name, value),)
        if kind.type in _FLOATS:
            for name, item in items:
                if not math.isfinite(item):
                    return [name], f"is {item}; give a finite number"
        elif kind.message_type is not None and _has_numbers(kind.message_type):
            for name, item in items:
                if (found := _problem(item)) is not None:
                    found[0].append(name)
                    return found
    return None


@functools.cache
def _map_value(field: FieldDescriptor) -> FieldDescriptor | None:
    """The value field of a map field's entries; None for any other field."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return field.message_type.fields_by_name["value"]
    return None


def _timestamp_problem(ts: Any) -> str | None:
    if TIMESTAMP_MIN_S <= ts.seconds <= TIMESTAMP_MAX_S and 0 <= ts.nanos <= _MAX_NANOS:
        return None
    return (f"is no time a Timestamp holds (seconds {ts.seconds}, nanos {ts.nanos}); "
            f"give one from 0001-01-01 to 9999-12-31, nanos 0 to {_MAX_NANOS}")
