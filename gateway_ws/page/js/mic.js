// The microphone as raw PCM: getUserMedia into an AudioWorklet that hands Float32 chunks to the page. One job: open,
// deliver samples, close. What to do with them (a WAV, segments) is the caller's.

export class Mic {
  /** `onChunk(samples: Float32Array, sampleRate: number)` for each ~40 ms of sound while open. */
  constructor(onChunk) {
    this.onChunk = onChunk;
    this.stream = null;
    this.context = null;
    this.sampleRate = 0;
  }

  get open() {
    return !!this.stream;
  }

  async start() {
    if (this.stream) return;
    // raw sound: the browser's processing is tuned for calls, and its gain control lifts the silences
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const context = new AudioContext();
    try {
      await context.audioWorklet.addModule(new URL("./capture-worklet.js", import.meta.url));
      const source = context.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(context, "mtor-capture", { numberOfInputs: 1, numberOfOutputs: 1 });
      node.port.onmessage = (e) => { if (this.stream === stream) this.onChunk(e.data, context.sampleRate); };
      const mute = context.createGain(); // the graph is pulled through the destination; nothing is heard
      mute.gain.value = 0;
      source.connect(node).connect(mute).connect(context.destination);
      if (context.state === "suspended") await context.resume();
    } catch (err) {
      for (const track of stream.getTracks()) track.stop();
      context.close();
      throw err;
    }
    this.stream = stream;
    this.context = context;
    this.sampleRate = context.sampleRate;
  }

  stop() {
    if (!this.stream) return;
    for (const track of this.stream.getTracks()) track.stop();
    this.context.close();
    this.stream = null;
    this.context = null;
  }
}

/** A short recording: start(), then stop() resolves with {chunks, sampleRate, seconds}. `onLevel(rms, seconds)`
 * while it records, for a meter. */
export class Recorder {
  constructor(onLevel = () => {}) {
    this.chunks = [];
    this.frames = 0;
    this.mic = new Mic((samples, rate) => {
      this.chunks.push(samples);
      this.frames += samples.length;
      let sum = 0;
      for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
      onLevel(Math.sqrt(sum / samples.length), this.frames / rate);
    });
  }

  get recording() {
    return this.mic.open;
  }

  async start() {
    this.chunks = [];
    this.frames = 0;
    await this.mic.start();
  }

  stop() {
    const sampleRate = this.mic.sampleRate;
    this.mic.stop();
    return { chunks: this.chunks, sampleRate, seconds: sampleRate ? this.frames / sampleRate : 0 };
  }
}
