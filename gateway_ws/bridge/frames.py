"""The bridge's frames (PROTOCOL.md): what a client sends, parsed and checked, and what the gateway sends."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Union

import grpc

CallId = Union[int, str]

MAX_ID = 2**53 - 1
"""The largest integer a browser's JSON keeps exactly."""
MAX_ID_CHARS = 128


class FrameError(Exception):
    """A frame refused: answered with an error frame for `call_id` (None when the frame has no usable id)."""

    def __init__(self, call_id: CallId | None, message: str,
                 code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> None:
        super().__init__(message)
        self.call_id = call_id
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Call:
    id: CallId
    method: Any
    """As sent: bridge.methods.find checks it."""
    request: Any


@dataclass(frozen=True)
class Cancel:
    id: CallId
    intent: bool
    """Also cancel the intent the call follows."""


@dataclass(frozen=True)
class Auth:
    token: str


Frame = Union[Call, Cancel, Auth]


def _call_id(frame: dict[str, Any]) -> CallId:
    value = frame.get("id")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FrameError(None, "id must be an integer or a string")
    if isinstance(value, int) and not 0 <= value <= MAX_ID:
        raise FrameError(None, f"id must be an integer from 0 to {MAX_ID}")
    if isinstance(value, str) and not 0 < len(value) <= MAX_ID_CHARS:
        raise FrameError(None, f"id must be a string of 1 to {MAX_ID_CHARS} characters")
    return value


def parse(text: str) -> Frame:
    """One client frame, or FrameError naming what is wrong with it."""
    try:
        frame = json.loads(text)
    except ValueError as e:
        raise FrameError(None, f"frame is not JSON: {e}") from None
    except RecursionError:
        raise FrameError(None, "frame is nested too deeply") from None
    if not isinstance(frame, dict):
        raise FrameError(None, f"frame must be a JSON object, not {type(frame).__name__}")
    if "auth" in frame:
        token = frame["auth"]
        if not isinstance(token, str) or not token or set(frame) != {"auth"}:
            raise FrameError(None, 'an auth frame is {"auth": "<token>"}, a non-empty string and nothing else')
        return Auth(token)
    call_id = _call_id(frame)
    if "cancel" in frame:
        intent = frame.get("intent", False)
        if frame["cancel"] is not True or not isinstance(intent, bool) or set(frame) - {"id", "cancel", "intent"}:
            raise FrameError(call_id, 'a cancel frame is {"id": ID, "cancel": true} with an optional "intent": true')
        return Cancel(call_id, intent)
    if "method" in frame:
        if unknown := set(frame) - {"id", "method", "request"}:
            raise FrameError(call_id, f"unknown keys in a call frame: {', '.join(sorted(unknown))}")
        return Call(call_id, frame["method"], frame.get("request"))
    raise FrameError(call_id, 'frame must be a call ("method"), a "cancel" or an "auth" frame')


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def message(call_id: CallId, reply: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "message": reply}


def end(call_id: CallId, code: grpc.StatusCode, detail: str = "", retry_after_s: float | None = None) -> dict[str, Any]:
    """A call's last frame, with the gRPC status it ended with."""
    status: dict[str, Any] = {"code": code.name}
    if detail:
        status["message"] = detail
    if retry_after_s is not None:
        status["retryAfter"] = retry_after_s
    return {"id": call_id, "end": status}


def error(call_id: CallId | None, code: grpc.StatusCode, detail: str) -> dict[str, Any]:
    """A frame refused: nothing started (and a call already open under that id goes on)."""
    return {"id": call_id, "error": {"code": code.name, "message": detail}}
