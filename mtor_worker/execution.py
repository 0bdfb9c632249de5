"""From an Assignment to its one terminal outcome, independent of the stream:
which backend serves it, and how every way a backend run can end (result,
BackendError, crash, timeout, cancellation) maps to a result or a gRPC error.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Sequence, Union

import grpc
from mtor_client import kinds
from mtor_client._proto.mtor.v1 import intent_pb2, worker_link_pb2

from mtor_worker.backends.base import Backend, BackendError, Job

log = logging.getLogger("mtor.worker")

Outcome = Union[intent_pb2.IntentResult, intent_pb2.Error]


def error(code: grpc.StatusCode, message: str) -> intent_pb2.Error:
    """An Error message with the numeric gRPC code."""
    return intent_pb2.Error(code=code.value[0], message=message)


def merge_capabilities(backends: Sequence[Backend]) -> list[worker_link_pb2.Capability]:
    """One Capability per kind across all backends; any backend taking any
    model for a kind makes the kind's model list empty (= any)."""
    merged: dict[str, list[str] | None] = {}
    for backend in backends:
        for cap in backend.capabilities():
            if not cap.models:
                merged[cap.kind] = None
            elif cap.kind not in merged:
                merged[cap.kind] = list(cap.models)
            elif merged[cap.kind] is not None:
                known = merged[cap.kind]
                assert known is not None
                known.extend(m for m in cap.models if m not in known)
    return [worker_link_pb2.Capability(kind=kinds.to_proto(kind), models=models or [])
            for kind, models in sorted(merged.items(), key=lambda kv: kinds.to_proto(kv[0]))]


def select_backend(backends: Sequence[Backend], kind: str, model: str) -> Backend | intent_pb2.Error:
    """The first backend serving `kind` with `model` (empty model: any backend
    serving the kind), or the Error to answer: UNIMPLEMENTED for a kind this
    worker does not serve, NOT_FOUND for a model it does not have."""
    served: list[str] = []
    any_for_kind = False
    for backend in backends:
        for cap in backend.capabilities():
            if cap.kind != kind:
                continue
            any_for_kind = True
            if not model or not cap.models or model in cap.models:
                return backend
            served.extend(cap.models)
    if not any_for_kind:
        return error(grpc.StatusCode.UNIMPLEMENTED, f"this worker does not serve {kind}")
    return error(grpc.StatusCode.NOT_FOUND,
                 f"model {model!r} is not served here for {kind} (models: {', '.join(served)})")


async def execute(backend: Backend, job: Job, timeout_s: float) -> Outcome:
    """Run the job on the backend within `timeout_s` (<= 0: no limit) and
    return the terminal outcome; never raises, even when cancelled."""
    timeout = asyncio.timeout(timeout_s if timeout_s > 0 else None)
    try:
        async with timeout:
            result = await backend.run(job)
    except asyncio.CancelledError:
        job.cancelled.set()
        return error(grpc.StatusCode.CANCELLED, "cancelled")
    except TimeoutError as e:
        job.cancelled.set()
        if timeout.expired():
            return error(grpc.StatusCode.DEADLINE_EXCEEDED,
                         f"{backend.name}: no result within {timeout_s:g} s")
        log.exception("backend %s crashed on assignment %s", backend.name, job.assignment_id)
        return error(grpc.StatusCode.INTERNAL, f"{backend.name}: {type(e).__name__}: {e}")
    except BackendError as e:
        return intent_pb2.Error(code=e.code, message=e.message)
    except Exception as e:
        log.exception("backend %s crashed on assignment %s", backend.name, job.assignment_id)
        return error(grpc.StatusCode.INTERNAL, f"{backend.name}: {type(e).__name__}: {e}")
    if not isinstance(result, intent_pb2.IntentResult) or result.WhichOneof("output") is None:
        return error(grpc.StatusCode.INTERNAL, f"{backend.name}: returned no output")
    result.kind = kinds.to_proto(job.kind)
    if not result.model:
        result.model = job.model or backend.name
    return result
