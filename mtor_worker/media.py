"""Stdlib-only WAV and PNG encoding, so the echo backend (and any backend
that has raw samples or pixels) can build valid outputs without numpy/PIL.
"""
from __future__ import annotations

import io
import math
import struct
import wave
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode_wav(pcm16: bytes, sample_rate: int) -> bytes:
    """A complete RIFF/WAVE file of 16-bit little-endian mono samples."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm16)
    return out.getvalue()


def wav_duration(data: bytes) -> float | None:
    """Length in seconds of a PCM WAV file, or None when it does not parse."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            rate = w.getframerate()
            return w.getnframes() / rate if rate else None
    except (wave.Error, EOFError, struct.error, ValueError):
        return None


def sine_pcm16(seconds: float, sample_rate: int, frequency: float = 440.0,
               amplitude: float = 0.1) -> bytes:
    """A sine tone as 16-bit mono samples; `amplitude` is a fraction of full scale."""
    n = int(round(seconds * sample_rate))
    peak = amplitude * 32767
    return struct.pack(f"<{n}h", *(int(peak * math.sin(2 * math.pi * frequency * i / sample_rate))
                                   for i in range(n)))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png_solid(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A complete 8-bit RGB PNG of one colour (every row filter 0)."""
    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (PNG_SIGNATURE + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(row * height, 6)) + _chunk(b"IEND", b""))


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR, or None when it is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height
