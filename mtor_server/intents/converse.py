"""Converse, a composed kind: transcribe -> chat -> speak, each step an intent of its own on whichever
executor serves it. The composer submits and follows its steps like any client; the one thing it does to its
own intent is report progress and its end, as transitions written out by the book."""
from __future__ import annotations

import asyncio

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2
from mtor_client.kinds import to_proto

from ..errors import RealmError
from ..errors import intent_error as error
from ..lifecycle import FAILED, SUCCEEDED
from ..records import LiveIntent
from .book import IntentBook
from .intake import Submit

KIND = "converse"


class _StepFailed(Exception):
    def __init__(self, failure: intent_pb2.Error) -> None:
        super().__init__(failure.message)
        self.error = failure


class Converse:
    def __init__(self, book: IntentBook, realm_name: str) -> None:
        self.book, self.realm_name = book, realm_name
        self._pipelines: set[asyncio.Task[None]] = set()

    def start(self, intent: LiveIntent, submit: Submit) -> None:
        task = asyncio.create_task(self._converse(intent, submit))
        self._pipelines.add(task)
        task.add_done_callback(self._pipelines.discard)

    def close(self) -> None:
        """Stop every pipeline: their steps are recorded, and the next start resumes them (recovery)."""
        for pipeline in list(self._pipelines):
            pipeline.cancel()

    async def _converse(self, intent: LiveIntent, submit: Submit) -> None:
        """Steps carry request ids derived from this intent's id, so after a realm restart the pipeline
        re-attaches to the steps already accepted instead of running them twice."""
        request = intent.request.converse
        try:
            heard = await self._step(intent, submit, "transcribe", intent_pb2.IntentRequest(
                model=request.transcribe_model, transcribe=intent_pb2.TranscribeRequest(
                    audio=request.audio, format=request.format, language=request.language)))
            question = heard.transcript.text.strip()
            if not question:
                raise _StepFailed(error(grpc.StatusCode.INVALID_ARGUMENT, "converse: no speech was heard"))
            if not intent.life.done:  # cancelled while the step's result was on its way: the next step says so
                self.book.apply(intent, intent.life.progress(intent_pb2.Delta(text=question,
                                                                              stage=intent_pb2.KIND_TRANSCRIBE)))
            chat = intent_pb2.ChatRequest(messages=[*request.history, intent_pb2.ChatMessage(
                role="user", content=question)], max_tokens=request.max_tokens)
            if request.HasField("temperature"):
                chat.temperature = request.temperature
            answer = await self._step(intent, submit, "chat",
                                      intent_pb2.IntentRequest(model=request.chat_model, chat=chat))
            if not answer.text.text.strip():
                raise _StepFailed(error(grpc.StatusCode.INTERNAL, "converse: the chat step gave an empty answer"))
            spoken = await self._step(intent, submit, "speak", intent_pb2.IntentRequest(
                model=request.speak_model, speak=intent_pb2.SpeakRequest(text=answer.text.text, voice=request.voice)))
        except _StepFailed as failure:
            self.book.finish(intent, FAILED, error=failure.error)
            return
        except RealmError as e:  # a step could not even be accepted (e.g. its queue was full)
            self.book.finish(intent, FAILED, error=error(e.code, f"converse: {e.message}"))
            return
        steps = (heard, answer, spoken)
        result = intent_pb2.IntentResult(
            conversation=intent_pb2.Conversation(transcript=heard.transcript, answer=answer.text, audio=spoken.audio),
            kind=to_proto(KIND), worker=spoken.worker, realm=self.realm_name,
            model=" + ".join(step.model for step in steps),
            usage=intent_pb2.Usage(queue_wait_s=sum(step.usage.queue_wait_s for step in steps),
                                   processing_s=sum(step.usage.processing_s for step in steps),
                                   cost=sum(step.usage.cost for step in steps)))
        self.book.finish(intent, SUCCEEDED, result=result)

    async def _step(self, intent: LiveIntent, submit: Submit, kind: str,
                    request: intent_pb2.IntentRequest) -> intent_pb2.IntentResult:
        """Run one step as an intent of the same user, relaying its progress; its result, or _StepFailed."""
        if intent.life.done:
            raise _StepFailed(intent.life.error or error(grpc.StatusCode.CANCELLED, "cancelled"))
        request.request_id = f"{intent.id}/{kind}"
        intent.step_id = await submit(intent.user, request, intent.deadline, metered=False)
        stage = to_proto(kind)
        async for event in self.book.follow(intent.step_id):
            which = event.WhichOneof("event")
            if which == "result":
                return event.result
            if which == "failed":
                raise _StepFailed(intent_pb2.Error(code=event.failed.code,
                                                   message=f"converse, {kind} step: {event.failed.message}"))
            if intent.life.done:
                continue
            if which == "delta" and kind == "chat":  # the answer streams; the other steps report at their end
                self.book.apply(intent, intent.life.progress(intent_pb2.Delta(text=event.delta.text, stage=stage)))
            elif which == "delta" and event.delta.HasField("fraction"):
                self.book.apply(intent, intent.life.progress(intent_pb2.Delta(fraction=event.delta.fraction,
                                                                              stage=stage)))
            elif which in ("started", "retrying", "queued"):
                self.book.apply(intent, intent.life.relay(which, getattr(event, which)))
        raise _StepFailed(error(grpc.StatusCode.INTERNAL, f"converse, {kind} step: ended without an outcome"))
