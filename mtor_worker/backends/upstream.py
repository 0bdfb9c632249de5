"""chat through any OpenAI-compatible HTTP server (vLLM, Ollama, LocalAI, the
llama.cpp server...), so that existing engines and clusters join a realm as
workers. Tokens stream back over server-sent events as text deltas.

Only chat for now; the audio and image endpoints are still to come. HTTP is
the standard library's, run in the backend's threads.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any, Iterator

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_worker.backends.base import BackendError, BlockingBackend, Capability, Job

log = logging.getLogger("mtor.worker")


class UpstreamBackend(BlockingBackend):
    name = "upstream"

    def __init__(self, settings: Any, options: Any = None) -> None:
        super().__init__(settings, options)
        self.url = getattr(options, "url", "").rstrip("/")
        self.models: list[str] = list(getattr(options, "models", []))
        self._problem = ""

    def capabilities(self) -> list[Capability]:
        return [Capability(kind="chat", models=self.models)]

    def healthy(self) -> tuple[bool, str]:
        return (not self._problem, self._problem)

    def load_blocking(self) -> None:
        if not self.url:
            raise ValueError("no upstream configured: set [upstream] url (e.g. http://127.0.0.1:8000/v1)")
        listed = [m["id"] for m in self._request("GET", "/models").json()["data"]]  # also proves it answers
        self.models = self.models or listed
        log.info("upstream %s serves %s", self.url, ", ".join(self.models) or "no models")

    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        chat = job.request.chat
        messages = [{"role": m.role, "content": m.content} for m in chat.messages] or \
            [{"role": "user", "content": chat.prompt}]
        model = job.model or (self.models[0] if self.models else "")
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        if chat.max_tokens:
            body["max_tokens"] = chat.max_tokens
        if chat.HasField("temperature"):
            body["temperature"] = chat.temperature
        if chat.stop:
            body["stop"] = list(chat.stop)
        pieces: list[str] = []
        with self._request("POST", "/chat/completions", body) as response:
            for event in response.events():
                if job.cancelled.is_set():
                    job.raise_if_cancelled()  # leaving the with-block closes the connection: the server stops
                choices = event.get("choices") or [{}]
                text = (choices[0].get("delta") or {}).get("content") or ""
                if text:
                    pieces.append(text)
                    job.emit_text(text)
        return intent_pb2.IntentResult(text=intent_pb2.TextOutput(text="".join(pieces), tokens=len(pieces)),
                                       model=model)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> "_Response":
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        key = getattr(self.options, "api_key", "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url + path, method=method, headers=headers,
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            response = _Response(urllib.request.urlopen(request, timeout=getattr(self.options, "timeout_s", 300)))
        except urllib.error.HTTPError as e:  # the upstream answered, and said no
            detail = e.read().decode(errors="replace")[:500]
            code = grpc.StatusCode.INVALID_ARGUMENT if 400 <= e.code < 500 else grpc.StatusCode.UNAVAILABLE
            raise BackendError(code, f"upstream {self.url} answered {e.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:  # not reachable: another worker may serve it
            self._problem = f"upstream {self.url} unreachable: {e}"
            raise BackendError(grpc.StatusCode.UNAVAILABLE, self._problem) from None
        self._problem = ""
        return response


class _Response:
    """An HTTP response read as JSON or as server-sent events."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def __enter__(self) -> "_Response":
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()

    def json(self) -> Any:
        with self._raw:
            return json.loads(self._raw.read())

    def events(self) -> Iterator[dict[str, Any]]:
        """The stream's events up to `[DONE]`; a stream that stops short, or sends an error, raises."""
        for line in self._raw:
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                return
            event = json.loads(data)
            if "error" in event:
                raise BackendError(grpc.StatusCode.INTERNAL, f"upstream error: {event['error']}")
            yield event
        raise BackendError(grpc.StatusCode.INTERNAL,
                           "upstream ended the stream before it finished (its own log says why)")
