"""Plain, immutable values the client hands back instead of protobuf messages.

Kinds, states and levels are short lowercase strings ("chat", "queued",
"warning") so results print and compare without importing any enum.
"""

from __future__ import annotations

import os
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeAlias

from mtor_client.errors import MtorError

__all__ = [
    "ChatMessage",
    "Usage",
    "TextResult",
    "TranscriptSegment",
    "TranscriptResult",
    "AudioResult",
    "ImageResult",
    "EmbeddingsResult",
    "Result",
    "Accepted",
    "Queued",
    "Started",
    "Delta",
    "Retrying",
    "Finished",
    "Failed",
    "Event",
    "IntentInfo",
    "Notice",
    "KindCapacity",
    "RealmInfo",
]


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation; role is "system", "user" or "assistant"."""

    role: str
    content: str


@dataclass(frozen=True)
class Usage:
    """What an intent cost; queue wait is reported but never billed."""

    queue_wait_s: float = 0.0
    processing_s: float = 0.0
    cost: float = 0.0


# ---------------------------------------------------------------- results --


@dataclass(frozen=True)
class _ResultBase:
    """Fields every result shares: who served it and what it cost.

    They are keyword-only so each result's own fields come first positionally.
    """

    _: KW_ONLY
    intent_id: str = ""
    kind: str = ""
    model: str = ""
    worker: str = ""
    realm: str = ""
    usage: Usage = Usage()


@dataclass(frozen=True)
class TextResult(_ResultBase):
    """Generated text, from chat or vision."""

    text: str
    tokens: int = 0
    prompt_tokens: int = 0
    """Tokens of the prompt as the model saw it; 0 when the backend does not count them."""
    finish_reason: str = ""
    """Why generation ended: "stop", "length", or "" when the backend does not say."""


@dataclass(frozen=True)
class TranscriptSegment:
    """One timed piece of a transcript, in seconds from the start of the audio."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class TranscriptResult(_ResultBase):
    """Speech written down."""

    text: str
    language: str = ""
    segments: tuple[TranscriptSegment, ...] = ()
    duration_s: float = 0.0


def _write(path: str | os.PathLike[str], data: bytes) -> Path:
    target = Path(path)
    target.write_bytes(data)
    return target


@dataclass(frozen=True)
class AudioResult(_ResultBase):
    """Synthesised speech as a complete WAV file (16-bit PCM, mono)."""

    wav: bytes = field(repr=False)
    sample_rate: int = 0
    duration_s: float = 0.0

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the WAV file to `path`; returns the path."""
        return _write(path, self.wav)


@dataclass(frozen=True)
class ImageResult(_ResultBase):
    """A generated picture as a complete PNG file."""

    png: bytes = field(repr=False)
    width: int = 0
    height: int = 0
    seed: int = 0

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the PNG file to `path`; returns the path."""
        return _write(path, self.png)


@dataclass(frozen=True)
class EmbeddingsResult(_ResultBase):
    """One vector per text embedded, in the order given; every vector has `dimensions` values."""

    vectors: tuple[tuple[float, ...], ...] = field(repr=False)
    dimensions: int = 0
    prompt_tokens: int = 0


@dataclass(frozen=True)
class ConversationResult(_ResultBase):
    """A spoken question answered aloud: what was heard, the answer as text, and spoken."""

    transcript: TranscriptResult
    answer: TextResult
    audio: AudioResult


Result: TypeAlias = (TextResult | TranscriptResult | AudioResult | ImageResult | ConversationResult
                     | EmbeddingsResult)


# ----------------------------------------------------------------- events --
# Every event carries `seq` (its place in the intent's stream, from 1) and
# `intent_id`, keyword-only; `time` is when the realm emitted it and is left
# out of comparisons.


@dataclass(frozen=True)
class Accepted:
    """The realm recorded the intent; it will not be lost. Always first."""

    intent_id: str
    queue_position: int = 0
    _: KW_ONLY
    seq: int = 0
    time: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Queued:
    """The intent's place in its queue changed (1-based)."""

    queue_position: int
    queue_depth: int = 0
    _: KW_ONLY
    seq: int = 0
    intent_id: str = ""
    time: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Started:
    """A worker took the intent; attempt is above 1 after a retry. `realm` names the realm that serves it;
    `reason` says why that one, when the intent was forwarded to a peer realm."""

    worker: str
    realm: str = ""
    attempt: int = 1
    reason: str = ""
    _: KW_ONLY
    seq: int = 0
    intent_id: str = ""
    time: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Delta:
    """Progress: the next chunk of text (chat, vision) or a fraction done (others)."""

    text: str | None = None
    fraction: float | None = None
    stage: str | None = None  # in a converse intent, the step: "transcribe", "chat" or "speak"
    _: KW_ONLY
    seq: int = 0
    intent_id: str = ""
    time: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Retrying:
    """An attempt failed in a retryable way; `attempt` is the one coming next."""

    attempt: int
    reason: str = ""
    _: KW_ONLY
    seq: int = 0
    intent_id: str = ""
    time: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Finished:
    """Terminal: the intent succeeded."""

    result: Result
    _: KW_ONLY
    seq: int = 0
    intent_id: str = ""
    time: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Failed:
    """Terminal: the intent failed or was cancelled."""

    error: MtorError
    _: KW_ONLY
    seq: int = 0
    intent_id: str = ""
    time: datetime | None = field(default=None, compare=False)


Event: TypeAlias = Accepted | Queued | Started | Delta | Retrying | Finished | Failed


# ------------------------------------------------------------ intents etc --


@dataclass(frozen=True)
class IntentInfo:
    """Everything the realm knows about one intent (from `get`).

    state is "queued", "running", "succeeded", "failed" or "cancelled";
    times are timezone-aware UTC, None until they happen.
    """

    intent_id: str
    kind: str
    model: str
    state: str
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    worker: str = ""
    queue_position: int = 0
    result: Result | None = None
    error: MtorError | None = None


@dataclass(frozen=True)
class Notice:
    """A message from the realm to its callers; level is "info" or "warning"."""

    time: datetime | None
    level: str
    text: str
    realm: str = ""


@dataclass(frozen=True)
class KindCapacity:
    """What a realm can serve of one kind right now, summed over its workers.

    models is empty when some worker accepts any model.
    """

    kind: str
    workers: int = 0
    free_slots: int = 0
    queue_depth: int = 0
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class RealmInfo:
    """Who a realm is and what it can serve (from `describe`)."""

    name: str
    version: str = ""
    protocol: int = 0
    uptime_s: float = 0.0
    kinds: tuple[KindCapacity, ...] = ()
    running: int = 0
    id: str = ""
    """Stable across the realm's restarts and changes of address."""
