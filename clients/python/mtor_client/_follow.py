"""Bookkeeping for following one intent to its end across broken streams.

A realm restart breaks Submit and Watch streams with UNAVAILABLE; the intent
itself survives. This class decides, without doing any I/O, whether the next
attempt is a Submit (nothing accepted yet, safe because of the request_id) or
a Watch from the last seen seq, how long to back off, and when to give up.
The sync and async clients each run the same loop around it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import grpc

from mtor_client._convert import event_from_proto
from mtor_client._proto.mtor.v1 import intent_pb2
from mtor_client.errors import DeadlineExceeded, MtorError, Unavailable
from mtor_client.types import Event, Failed, Finished

FIRST_DELAY_S = 0.1
MAX_DELAY_S = 2.0
# With no timeout, stop resubmitting after this long without the realm ever
# accepting: a wrong address should fail, not hang. Once accepted, the intent
# exists and is followed until it ends or the call's timeout.
UNACCEPTED_GIVE_UP_S = 30.0


# A client method's arguments that are about the call, not the intent.
_CALL_ARGS = frozenset({"self", "timeout", "on_event"})


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_from_args(
    build: Callable[..., intent_pb2.IntentRequest], args: Mapping[str, Any]
) -> intent_pb2.IntentRequest:
    """The intent a client method's own arguments (its `locals()`) describe.

    Each kind's parameters are written in the client method's signature (the
    public one) and its builder's in _convert (which checks them), and pass
    from one to the other by name, so a parameter is never copied by hand.
    A request_id of "" gets a fresh one, so a resubmit after a restart is
    recognised by the realm.
    """
    params = {name: value for name, value in args.items() if name not in _CALL_ARGS}
    params["request_id"] = params.get("request_id") or new_request_id()
    return build(**params)


class Follow:
    """State of one followed intent: id once known, last seq, backoff, deadline."""

    def __init__(
        self,
        *,
        timeout: float | None,
        intent_id: str | None = None,
        after_seq: int = 0,
    ) -> None:
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.intent_id = intent_id or None
        self.last_seq = after_seq
        self.done = False
        self._delay = FIRST_DELAY_S
        self._failing_since: float | None = None
        self._unreachable: MtorError | None = None

    @property
    def watching(self) -> bool:
        """True once the intent is known to exist: re-attach with Watch, never resubmit."""
        return self.intent_id is not None

    def remaining(self) -> float | None:
        """Seconds left for the next RPC's deadline; None without a timeout."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def take(self, msg: intent_pb2.IntentEvent) -> Event | None:
        """Record a received event; the typed event, or None for a repeat or unknown kind."""
        if msg.seq and msg.seq <= self.last_seq:
            return None
        self.last_seq = max(self.last_seq, msg.seq)
        if self.intent_id is None:
            self.intent_id = msg.intent_id or msg.accepted.intent_id or None
        self._delay, self._failing_since = FIRST_DELAY_S, None
        event = event_from_proto(msg)
        if isinstance(event, (Finished, Failed)):
            self.done = True
        return event

    def retry_after(self, error: MtorError | None) -> float:
        """Seconds to wait before the next attempt after a stream broke with `error`.

        `error` is None when a stream ended without a terminal event. Raises
        the error (or DeadlineExceeded once the timeout is spent) when the
        attempt should not be repeated.
        """
        if error is not None:
            if error.intent_id is None:
                error.intent_id = self.intent_id
            if (error.code is grpc.StatusCode.DEADLINE_EXCEEDED and not self.watching
                    and self._unreachable is not None):
                raise self._unreachable  # the last try ran out of time: the cause is still the unreachable realm
            if error.code is not grpc.StatusCode.UNAVAILABLE:
                raise error
            self._unreachable = error
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        why = f" (last: {error})" if error is not None else ""
        if self.deadline is not None and now >= self.deadline:
            if not self.watching and error is not None:
                raise error  # never reached the realm: say so rather than "timed out"
            raise DeadlineExceeded(
                f"timed out waiting for the realm{why}", intent_id=self.intent_id
            )
        if (
            not self.watching
            and self.deadline is None
            and now - self._failing_since >= UNACCEPTED_GIVE_UP_S
        ):
            if error is not None:
                raise error
            raise Unavailable("realm kept ending the stream before accepting the intent")
        delay = self._delay
        self._delay = min(self._delay * 2, MAX_DELAY_S)
        if self.deadline is not None:
            delay = min(delay, self.deadline - now)
        return delay
