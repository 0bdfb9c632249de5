// Spoken answers: the realm's speak workers make the WAV; the page's one <audio> element plays it.
import { $, base64ToBlob } from "./dom.js";
import { submit } from "./intents.js";

let playing = null; // the object URL being played
let replaced = null; // resolves the playback a new one replaces

/** Speak `text` through the realm and play it. Resolves when playback ends (or is replaced by another). */
export async function speak(bridge, text) {
  const result = await submit(bridge, { speak: { text } }).result;
  return play(result.audio?.wav || "", text);
}

/** Play a WAV given as base64; the player shows what it says, and `data-played` counts playbacks heard to the
 * end. */
export function play(wavBase64, label = "") {
  const player = $("#player");
  replaced?.();
  if (playing) URL.revokeObjectURL(playing);
  playing = URL.createObjectURL(base64ToBlob(wavBase64, "audio/wav"));
  player.src = playing;
  player.hidden = false;
  player.dataset.text = label;
  player.title = label;
  return new Promise((resolve) => {
    const done = (e) => {
      player.removeEventListener("ended", done);
      player.removeEventListener("error", done);
      if (replaced === done) replaced = null;
      if (e?.type === "ended") player.dataset.played = String(Number(player.dataset.played || 0) + 1);
      resolve();
    };
    replaced = done;
    player.addEventListener("ended", done);
    player.addEventListener("error", done);
    player.play().catch(done); // refused (no autoplay): not counted as played
  });
}
