"""chat with llama.cpp (llama-cpp-python): any GGUF file, the chat template
from the model, tokens streamed as text deltas, every layer on the GPU when
llama.cpp was built with CUDA. One Llama object is not safe across threads, so
generations on it take turns."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_worker import starter
from mtor_worker.backends.base import BackendError, Job, finish_reason
from mtor_worker.backends.model import ModelBackend, require


class LlamaBackend(ModelBackend):
    name = "llama"
    kind = "chat"

    def locate(self) -> Path:
        configured = getattr(self.options, "model", "")
        return require(Path(configured).expanduser() if configured else starter.chat_model(),
                       "GGUF model", starter.INSTALL_HINT)

    def load_model(self, path: Path) -> Any:
        import llama_cpp

        gpu = llama_cpp.llama_supports_gpu_offload()
        return llama_cpp.Llama(model_path=str(path), n_ctx=getattr(self.options, "context_tokens", 2048),
                               n_gpu_layers=getattr(self.options, "gpu_layers", -1) if gpu else 0,
                               n_threads=getattr(self.options, "threads", 0) or None, verbose=False)

    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        chat = job.request.chat
        if chat.messages:
            messages = [{"role": m.role, "content": m.content} for m in chat.messages]
        elif chat.prompt.strip():
            messages = [{"role": "user", "content": chat.prompt}]
        else:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "llama: chat.prompt is empty")
        llm = self.model()
        max_tokens = chat.max_tokens or getattr(self.options, "max_tokens", 256)
        temperature = chat.temperature if chat.HasField("temperature") else getattr(self.options, "temperature", 0.7)
        pieces: list[str] = []
        reason: str | None = None
        with self._turn:
            job.raise_if_cancelled()
            try:
                stream = llm.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=temperature,
                    repeat_penalty=getattr(self.options, "repeat_penalty", 1.1), stop=list(chat.stop) or None,
                    stream=True)
                for chunk in stream:
                    if job.cancelled.is_set():
                        stream.close()  # stops generation at the next token
                        job.raise_if_cancelled()
                    text = chunk["choices"][0]["delta"].get("content") or ""
                    reason = chunk["choices"][0].get("finish_reason") or reason
                    if text:
                        pieces.append(text)
                        job.emit_text(text)
            except ValueError as e:  # llama.cpp's way of saying the request does not fit (e.g. context)
                raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, f"llama: {e}") from None
        return intent_pb2.IntentResult(text=intent_pb2.TextOutput(text="".join(pieces), tokens=len(pieces),
                                                                  finish_reason=finish_reason(reason)),
                                       model=self.model_name)
