// A short "you're matched" chime made with WebAudio (no sound file). The AudioContext is created
// on a user gesture (the I'm Ready click) because browsers keep audio suspended until then.

let ctx = null;

export function unlockAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  if (!ctx) ctx = new Ctx();
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
}

export function chime() {
  if (!ctx) unlockAudio();
  if (!ctx) return;
  const start = ctx.currentTime + 0.02;
  // Two rising notes, about 0.4 s in all.
  for (const [i, freq] of [660, 880].entries()) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const t = start + i * 0.16;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.25);
  }
}
