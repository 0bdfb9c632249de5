"""Counters, gauges and histograms, written out in the Prometheus text format 0.0.4.

Written by hand rather than with prometheus_client to keep the realm's dependencies what they are;
the format is small: https://prometheus.io/docs/instrumenting/exposition_formats/

Metrics are not thread-safe and need not be: the realm changes and reads them on its event loop only.
"""
from __future__ import annotations

import math
import re
from typing import ClassVar, Iterable, Iterator, Mapping, Sequence

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Labels = tuple[tuple[str, str], ...]
"""(name, value) pairs in the order they are written."""


def escape_label_value(value: str) -> str:
    """A label value as it goes between double quotes: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """HELP text: backslash and newline escaped (quotes stay as they are)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value: integers without a fraction, infinities and NaN as Prometheus spells them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _bound(le: float) -> str:
    """A bucket's `le` label, as the official clients write it ("0.5", "1.0", "+Inf")."""
    return "+Inf" if math.isinf(le) else repr(float(le))


def _sample(name: str, labels: Labels, value: float) -> str:
    if not labels:
        return f"{name} {format_value(value)}"
    inner = ",".join(f'{key}="{escape_label_value(val)}"' for key, val in labels)
    return f"{name}{{{inner}}} {format_value(value)}"


class Metric:
    """One metric family: a name, its help, its label names and constant labels (e.g. the realm)."""

    type: ClassVar[str]
    reserved: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, help: str, labels: Sequence[str] = (),
                 const_labels: Mapping[str, str] | None = None) -> None:
        if not _METRIC_NAME.fullmatch(name):
            raise ValueError(f"bad metric name {name!r}")
        const = dict(const_labels or {})
        for label in (*const, *labels):
            if not _LABEL_NAME.fullmatch(label) or label.startswith("__") or label in self.reserved:
                raise ValueError(f"{name}: bad label name {label!r}")
        if len({*const, *labels}) != len(const) + len(labels):
            raise ValueError(f"{name}: a label name is given twice")
        self.name, self.help = name, help
        self.labelnames = tuple(labels)
        self._const: Labels = tuple(const.items())

    def _key(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes the labels {self.labelnames}, not {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def _labels(self, key: tuple[str, ...], *extra: tuple[str, str]) -> Labels:
        return (*self._const, *zip(self.labelnames, key), *extra)

    def samples(self) -> Iterator[str]:
        """The family's sample lines, without the trailing newline."""
        raise NotImplementedError

    def render(self) -> str:
        lines = [f"# HELP {self.name} {escape_help(self.help)}", f"# TYPE {self.name} {self.type}", *self.samples()]
        return "\n".join(lines) + "\n"


class Counter(Metric):
    """Only goes up, from 0 at process start (Prometheus's rate() handles restarts)."""

    type = "counter"

    def __init__(self, name: str, help: str, labels: Sequence[str] = (),
                 const_labels: Mapping[str, str] | None = None) -> None:
        if not name.endswith("_total"):
            raise ValueError(f"counter {name!r} must end in _total")
        super().__init__(name, help, labels, const_labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add `amount` (0 makes the series exist, so that it reads 0 rather than missing)."""
        if amount < 0:
            raise ValueError(f"{self.name}: a counter cannot go down")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> Iterator[str]:
        for key, value in sorted(self._values.items()):
            yield _sample(self.name, self._labels(key), value)


class Gauge(Metric):
    """A value that is set, typically from live state just before it is read."""

    type = "gauge"

    def __init__(self, name: str, help: str, labels: Sequence[str] = (),
                 const_labels: Mapping[str, str] | None = None) -> None:
        super().__init__(name, help, labels, const_labels)
        self._values: dict[tuple[str, ...], float] = {}

    def set(self, value: float, **labels: str) -> None:
        self._values[self._key(labels)] = float(value)

    def clear(self) -> None:
        """Forget every series (before setting the ones that exist now)."""
        self._values.clear()

    def samples(self) -> Iterator[str]:
        for key, value in sorted(self._values.items()):
            yield _sample(self.name, self._labels(key), value)


class Histogram(Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    type = "histogram"
    reserved = frozenset({"le"})

    def __init__(self, name: str, help: str, buckets: Iterable[float], labels: Sequence[str] = (),
                 const_labels: Mapping[str, str] | None = None) -> None:
        super().__init__(name, help, labels, const_labels)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"{name}: buckets must be distinct and at least one finite")
        self.buckets = (*bounds, math.inf)
        # per label set: counts per bucket (not cumulative), sum, count
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        counts, totals = self._series.setdefault(key, ([0] * len(self.buckets), [0.0, 0.0]))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
                break
        else:  # NaN: only +Inf holds it, so that +Inf stays equal to the count
            counts[-1] += 1
        totals[0] += value
        totals[1] += 1

    def count(self, **labels: str) -> int:
        series = self._series.get(self._key(labels))
        return int(series[1][1]) if series else 0

    def samples(self) -> Iterator[str]:
        for key, (counts, (total, count)) in sorted(self._series.items()):
            cumulative = 0
            for bound, n in zip(self.buckets, counts):
                cumulative += n
                yield _sample(f"{self.name}_bucket", self._labels(key, ("le", _bound(bound))), cumulative)
            yield _sample(f"{self.name}_sum", self._labels(key), total)
            yield _sample(f"{self.name}_count", self._labels(key), count)


def render(metrics: Iterable[Metric]) -> str:
    """The exposition text of these families, in the given order."""
    return "".join(metric.render() for metric in metrics)
