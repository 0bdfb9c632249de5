"""`mtor transcribe`, `mtor speak` and `mtor converse`: speech in, speech out, or both (the realm chains
transcribe, chat and speak for converse)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import (
    ProgressBar,
    add_intent_arguments,
    check_output,
    connect,
    read_input,
    report,
    run_intent,
    show_progress,
    write_output,
)

if TYPE_CHECKING:
    from pathlib import Path

    from mtor_client import AudioResult

    from .common import Subparsers


def cmd_transcribe(args: argparse.Namespace) -> int:
    audio = read_input(args.file, "audio file")

    def ask() -> int:
        with connect(args) as client:
            result = client.transcribe(audio, language=args.language,
                                       task="translate" if args.translate else "transcribe", model=args.model,
                                       timeout=args.timeout, on_event=show_progress)
        return report(args, result, result.text)

    return run_intent(ask)


def _wrote(path: Path, audio: AudioResult) -> str:
    return f"wrote {path}: {audio.duration_s:.1f} s of audio at {audio.sample_rate} Hz"


def cmd_speak(args: argparse.Namespace) -> int:
    output = check_output(args.output)
    text = " ".join(args.text)

    def ask() -> int:
        with connect(args) as client:
            result = client.speak(text, voice=args.voice, model=args.model, timeout=args.timeout,
                                  on_event=show_progress)
        write_output(output, result.wav)
        return report(args, result, note=_wrote(output, result), output=str(output), bytes=len(result.wav))

    return run_intent(ask)


class _Conversation:
    """Prints the transcript once heard and the answer as it is generated (stdout), the speech's progress
    (stderr); what a stream left out is printed from the result at the end."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.heard = False
        self.answered = False
        self.answering = False
        self.bar = ProgressBar()

    def __call__(self, event: object) -> None:
        from mtor_client import Delta

        show_progress(event)
        if self.quiet or not isinstance(event, Delta):
            return
        if event.stage == "transcribe" and event.text:
            print(f"you: {event.text}", flush=True)
            self.heard = True
        elif event.stage == "chat" and event.text:
            if not self.answering:
                print("answer: ", end="")
                self.answering = self.answered = True
            print(event.text, end="", flush=True)
        elif event.stage == "speak" and event.fraction is not None:
            self.end_answer()
            self.bar.update(event.fraction)

    def end_answer(self) -> None:
        if self.answering:
            print(flush=True)
            self.answering = False

    def close(self) -> None:
        """Ends an open answer line and the bar, whether the intent succeeded or not."""
        self.end_answer()
        self.bar.end()

    def finish(self, transcript: str, answer: str) -> None:
        if not self.heard:
            print(f"you: {transcript}")
        if not self.answered:
            print(f"answer: {answer}")


def cmd_converse(args: argparse.Namespace) -> int:
    audio = read_input(args.file, "audio file")
    output = check_output(args.output)
    shown = _Conversation(quiet=args.json)

    def ask() -> int:
        try:
            with connect(args) as client:
                result = client.converse(audio, language=args.language, voice=args.voice,
                                         max_tokens=args.max_tokens, chat_model=args.model, timeout=args.timeout,
                                         on_event=shown)
        finally:
            shown.close()
        write_output(output, result.audio.wav)
        if not args.json:
            shown.finish(result.transcript.text, result.answer.text)
        return report(args, result, note=_wrote(output, result.audio), output=str(output),
                      bytes=len(result.audio.wav))

    return run_intent(ask)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("transcribe", help="speech to text: print what an audio file says")
    p.add_argument("file", metavar="FILE", help="the audio (WAV, MP3, FLAC, OGG, WebM...)")
    p.add_argument("--language", default="", help="its language, e.g. en (default: the worker detects it)")
    p.add_argument("--translate", action="store_true", help="translate it into English")
    add_intent_arguments(p)
    p.set_defaults(func=cmd_transcribe)

    p = sub.add_parser("speak", help="text to speech, into a WAV file")
    p.add_argument("text", nargs="+", metavar="TEXT", help="what to say")
    p.add_argument("-o", "--output", required=True, metavar="FILE.wav", help="where the WAV goes")
    p.add_argument("--voice", default="", help="the voice (default: the worker's)")
    add_intent_arguments(p)
    p.set_defaults(func=cmd_speak)

    p = sub.add_parser("converse", help="ask aloud: an audio question in, its transcript and the answer printed, "
                       "the answer spoken into a WAV file")
    p.add_argument("file", metavar="FILE", help="the question's audio")
    p.add_argument("-o", "--output", required=True, metavar="FILE.wav", help="where the spoken answer goes")
    p.add_argument("--language", default="", help="the question's language (default: detected)")
    p.add_argument("--voice", default="", help="the answer's voice (default: the worker's)")
    p.add_argument("--max-tokens", type=int, default=0, help="most tokens in the answer (default: the worker's)")
    add_intent_arguments(p, model_help="the chat model that answers (default: any)")
    p.set_defaults(func=cmd_converse)
