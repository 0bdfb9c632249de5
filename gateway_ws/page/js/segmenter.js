// Speech between silences, by energy: feed it the microphone's chunks, it calls back with each stretch of speech
// (as chunks at the input's rate). Pure: no DOM, no I/O, no clock but the samples themselves.

export const DEFAULTS = {
  frameS: 0.03, // loudness is measured per 30 ms
  threshold: 0.015, // RMS above which a frame is speech (raised over a noisy room's floor, below)
  floorFactor: 3, // ... or this many times the quietest recent loudness, whichever is higher
  silenceS: 0.7, // this much quiet ends a segment
  maxS: 10, // a segment longer than this is cut here (a short window for Whisper)
  minSpeechS: 0.2, // segments with less speech than this are a click or a cough: dropped ("chat" has 0.24 s)
  prerollS: 0.2, // kept from before the first loud frame, so the start of a word is not cut
};

export class Segmenter {
  /** `onSegment(chunks: Float32Array[], sampleRate)`; `options` as DEFAULTS. */
  constructor(onSegment, options = {}) {
    this.onSegment = onSegment;
    this.o = { ...DEFAULTS, ...options };
    this.floor = 0; // the room's quietest recent loudness (0: a digital silence, as a fake microphone's)
    this.reset();
  }

  /** Forget what was heard so far (e.g. after a pause while the page itself spoke). */
  reset() {
    this.pending = new Float32Array(0); // samples not yet a whole frame
    this.preroll = [];
    this.segment = null; // {frames: [], speechFrames, quietFrames}
  }

  /** The level (RMS) of the last frame, for a meter. */
  get level() {
    return this.lastLevel || 0;
  }

  get speaking() {
    return !!this.segment;
  }

  feed(samples, rate) {
    const size = Math.max(1, Math.round(rate * this.o.frameS));
    let buf = samples;
    if (this.pending.length) {
      buf = new Float32Array(this.pending.length + samples.length);
      buf.set(this.pending);
      buf.set(samples, this.pending.length);
    }
    let at = 0;
    for (; at + size <= buf.length; at += size) this.frame(buf.slice(at, at + size), rate);
    this.pending = buf.slice(at);
  }

  frame(frame, rate) {
    let sum = 0;
    for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
    const level = Math.sqrt(sum / frame.length);
    this.lastLevel = level;
    // the floor follows the quiet fast and the loud slowly, so speech does not raise it much
    this.floor = level < this.floor ? level : this.floor + (level - this.floor) * 0.001;
    const loud = level > Math.max(this.o.threshold, this.floor * this.o.floorFactor);
    const frameS = frame.length / rate;
    if (!this.segment) {
      if (!loud) {
        this.preroll.push(frame);
        while (this.preroll.length * frameS > this.o.prerollS) this.preroll.shift();
        return;
      }
      this.segment = { frames: [...this.preroll], speechFrames: 0, quietFrames: 0 };
      this.preroll = [];
    }
    const seg = this.segment;
    seg.frames.push(frame);
    if (loud) {
      seg.speechFrames++;
      seg.quietFrames = 0;
    } else {
      seg.quietFrames++;
    }
    if (seg.quietFrames * frameS >= this.o.silenceS || seg.frames.length * frameS >= this.o.maxS) {
      this.segment = null;
      if (seg.speechFrames * frameS >= this.o.minSpeechS) this.onSegment(seg.frames, rate);
    }
  }
}
