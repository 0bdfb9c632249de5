// PCM to WAV for the realm's transcribe workers: resample float samples to 16 kHz and write 16-bit mono RIFF/WAVE.
// Pure functions, no DOM.

export const TARGET_RATE = 16000; // what Whisper works at; smaller to send than the microphone's 48 kHz

/** Float32 samples at `from` Hz to `to` Hz: each output sample is the mean of the input it covers (a box filter
 * against aliasing when going down), or interpolated linearly when going up. */
export function resample(samples, from, to = TARGET_RATE) {
  if (from === to || !samples.length) return Float32Array.from(samples);
  const ratio = from / to;
  const out = new Float32Array(Math.max(1, Math.floor(samples.length / ratio)));
  if (ratio > 1) {
    for (let i = 0; i < out.length; i++) {
      const start = Math.floor(i * ratio);
      const end = Math.min(samples.length, Math.max(start + 1, Math.floor((i + 1) * ratio)));
      let sum = 0;
      for (let j = start; j < end; j++) sum += samples[j];
      out[i] = sum / (end - start);
    }
  } else {
    for (let i = 0; i < out.length; i++) {
      const x = i * ratio;
      const j = Math.floor(x);
      const next = samples[Math.min(j + 1, samples.length - 1)];
      out[i] = samples[j] + (next - samples[j]) * (x - j);
    }
  }
  return out;
}

/** Float32 samples in [-1, 1] at `rate` Hz to the bytes of a 16-bit PCM mono WAV file. */
export function encodeWav(samples, rate = TARGET_RATE) {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const text = (at, s) => { for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i); };
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true); // size of the fmt chunk
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true); // bytes per second
  view.setUint16(32, 2, true); // bytes per frame
  view.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return bytes;
}

/** Chunks of Float32 samples joined into one array. */
export function concat(chunks) {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Root mean square of samples: their loudness, 0 for silence. */
export function rms(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/** Bytes to base64, as the bridge sends bytes. */
export function bytesToBase64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Captured chunks at `rate` Hz to a 16 kHz WAV, base64: the `audio` of a transcribe or converse request. */
export function wavBase64(chunks, rate) {
  return bytesToBase64(encodeWav(resample(concat(chunks), rate)));
}
