"""Numbers no request may carry, whatever its type: a NaN or an infinity in a float or double field, or a
Timestamp outside what one can hold. One check driven by the message descriptors, applied to every request
of every service before a handler sees it (services/_guard.py), so that fields added later are covered too."""
from __future__ import annotations

import functools
import math
from typing import Any, Iterator

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
    return _problem(message, "")


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


def _problem(message: Message, path: str) -> str | None:
    if message.DESCRIPTOR.full_name == _TIMESTAMP:
        return _timestamp_problem(message, path)
    for field, value in message.ListFields():
        for where, kind, item in _values(field, value):
            where = f"{path}.{where}" if path else where
            if kind.type in _FLOATS and not math.isfinite(item):
                return f"{where} is {item}; give a finite number"
            if kind.message_type is not None and _has_numbers(kind.message_type):
                if (problem := _problem(item, where)) is not None:
                    return problem
    return None


def _values(field: FieldDescriptor, value: Any) -> Iterator[tuple[str, FieldDescriptor, Any]]:
    """(name, descriptor, value) of each value a set field holds: one, one per element, or one per map entry."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        inner = field.message_type.fields_by_name["value"]
        for key in value:
            yield f"{field.name}[{key!r}]", inner, value[key]
    elif field.is_repeated:
        for i, item in enumerate(value):
            yield f"{field.name}[{i}]", field, item
    else:
        yield field.name, field, value


def _timestamp_problem(ts: Any, where: str) -> str | None:
    if TIMESTAMP_MIN_S <= ts.seconds <= TIMESTAMP_MAX_S and 0 <= ts.nanos <= _MAX_NANOS:
        return None
    return (f"{where or 'the request'} is no time a Timestamp holds (seconds {ts.seconds}, nanos {ts.nanos}); "
            f"give one from 0001-01-01 to 9999-12-31, nanos 0 to {_MAX_NANOS}")
