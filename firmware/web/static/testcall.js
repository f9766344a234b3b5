// ivrbox test call: the attendant's audio (8 kHz PCM over a WebSocket) played with the
// Web Audio API, a keypad whose keys travel to the box as DTMF, and a live transcript.
//
// Audio path: int16 frames -> float -> streaming windowed-sinc resampler (8 kHz to the
// audio device's rate, state carried across messages so frame edges never click) ->
// AudioBuffers scheduled back to back with a small lead (a jitter buffer); an underrun
// restarts the queue with the same lead instead of playing chunks on top of each other.
"use strict";
(function () {
  const box = document.querySelector("[data-testcall]");
  if (!box) return;

  const IN_RATE = 8000;        // Hz, the phone line's rate
  const HALF_TAPS = 8;         // sinc taps either side of the output point
  const PASSBAND = 0.94;       // of the 4 kHz input Nyquist: telephone audio stops at 3.4 kHz
  const START_LEAD_S = 0.12;   // jitter buffer: how far ahead the first chunk is scheduled
  const MAX_LEAD_S = 1.0;      // further ahead than this (a stalled tab): drop audio to catch up
  const KEY_TONE_S = 0.12;     // local key feedback, like a phone's earpiece
  const DTMF = { "1": [697, 1209], "2": [697, 1336], "3": [697, 1477], "4": [770, 1209],
    "5": [770, 1336], "6": [770, 1477], "7": [852, 1209], "8": [852, 1336], "9": [852, 1477],
    "*": [941, 1209], "0": [941, 1336], "#": [941, 1477] };

  class Resampler {
    constructor(inRate, outRate) {
      this.step = inRate / outRate;           // input samples per output sample
      this.cut = PASSBAND * Math.min(1, outRate / inRate);
      this.hist = new Float32Array(0);
      this.pos = HALF_TAPS;                    // next output point, in input samples of hist
    }
    kernel(d) {
      const x = this.cut * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const w = 0.5 + 0.5 * Math.cos(Math.PI * d / HALF_TAPS);  // Hann window over +-HALF_TAPS
      return this.cut * sinc * w;
    }
    push(input) {
      const x = new Float32Array(this.hist.length + input.length);
      x.set(this.hist); x.set(input, this.hist.length);
      const out = [];
      while (Math.floor(this.pos) + HALF_TAPS < x.length) {
        const c = Math.floor(this.pos), frac = this.pos - c;
        let acc = 0;
        for (let k = 1 - HALF_TAPS; k <= HALF_TAPS; k++) acc += x[c + k] * this.kernel(k - frac);
        out.push(acc);
        this.pos += this.step;
      }
      const keep = Math.max(0, Math.floor(this.pos) - HALF_TAPS);
      this.hist = x.slice(keep);
      this.pos -= keep;
      return Float32Array.from(out);
    }
  }

  class Player {
    constructor() {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      this.ctx = new Ctx();
      this.out = this.ctx.createGain();
      this.out.connect(this.ctx.destination);
      this.rs = new Resampler(IN_RATE, this.ctx.sampleRate);
      this.next = 0;
      this.seconds = 0;
    }
    push(bytes) {
      const pcm = new Int16Array(bytes);
      const f = new Float32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
      const y = this.rs.push(f);
      if (!y.length) return;
      const now = this.ctx.currentTime;
      if (this.next < now + 0.01) this.next = now + START_LEAD_S;   // underrun: refill
      if (this.next > now + MAX_LEAD_S) return;                     // hopelessly behind: skip
      const buf = this.ctx.createBuffer(1, y.length, this.ctx.sampleRate);
      buf.getChannelData(0).set(y);
      const src = this.ctx.createBufferSource();
      src.buffer = buf;
      src.connect(this.out);
      src.start(this.next);
      this.next += buf.duration;
      this.seconds += buf.duration;
    }
    keyTone(digit) {
      const pair = DTMF[digit];
      if (!pair) return;
      const t0 = this.ctx.currentTime, g = this.ctx.createGain();
      g.gain.value = 0.08;
      g.connect(this.ctx.destination);
      pair.forEach(hz => {
        const o = this.ctx.createOscillator();
        o.frequency.value = hz; o.connect(g); o.start(t0); o.stop(t0 + KEY_TONE_S);
      });
    }
    close() { this.ctx.close().catch(() => {}); }
  }

  const d = box.dataset;
  const startBtn = box.querySelector("[data-call-start]");
  const hangBtn = box.querySelector("[data-call-hangup]");
  const status = box.querySelector("[data-call-status]");
  const keys = [...document.querySelectorAll("[data-keypad] [data-digit]")];
  const list = document.querySelector("[data-transcript]");
  const empty = document.querySelector("[data-transcript-empty]");
  let ws = null, player = null, live = false, t0 = 0, frames = 0;

  function setLive(on) {
    live = on;
    keys.forEach(k => { k.disabled = !on; });
  }
  function line(text, kind) {
    const li = document.createElement("li");
    li.className = "ev ev-" + kind;
    const at = document.createElement("span");
    at.className = "at";
    at.textContent = ((performance.now() - t0) / 1000).toFixed(1) + " s";
    const body = document.createElement("span");
    body.textContent = text;
    li.append(at, body);
    list.append(li);
    if (empty) empty.hidden = true;
    list.scrollTop = list.scrollHeight;
  }
  function finished(text) {
    setLive(false);
    startBtn.hidden = false; hangBtn.hidden = true;
    status.textContent = text;
    box.dataset.state = "ended";
    ws = null;
  }

  function start() {
    if (ws) return;
    const flow = (box.querySelector("input[name=flow]:checked") || {}).value || "published";
    if (player) player.close();
    try { player = new Player(); } catch (e) { player = null; }
    list.textContent = ""; if (empty) empty.hidden = false;
    frames = 0; d.frames = "0"; t0 = performance.now();
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/testcall/ws?flow=" + encodeURIComponent(flow) +
                       "&csrf=" + encodeURIComponent(d.csrf || ""));
    ws.binaryType = "arraybuffer";
    startBtn.hidden = true; hangBtn.hidden = false;
    status.textContent = d.tConnecting;
    box.dataset.state = "calling";
    let ended = false;
    ws.onmessage = ev => {
      if (typeof ev.data !== "string") {
        frames += ev.data.byteLength / 320;
        d.frames = String(frames);
        if (player) player.push(ev.data);
        return;
      }
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "event") {
        if (m.kind === "answered") { setLive(true); status.textContent = d.tLive; box.dataset.state = "live"; }
        line(m.text, m.kind);
      } else if (m.type === "ended") {
        ended = true; line(m.text, "ended"); finished(d.tEnded);
      } else if (m.type === "error") {
        ended = true; line(m.text, "error"); finished(m.text);
      }
    };
    ws.onclose = () => { if (!ended) finished(d.tLost); };
  }
  function press(digit) {
    if (!live || !ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "key", digit: digit }));
    if (player) player.keyTone(digit);
  }
  function hangUp() {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "hangup" }));
  }

  startBtn.addEventListener("click", start);
  hangBtn.addEventListener("click", hangUp);
  keys.forEach(k => k.addEventListener("click", () => press(k.dataset.digit)));
  document.addEventListener("keydown", ev => {
    if (!live || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target && /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName)) return;
    if (!DTMF[ev.key]) return;
    ev.preventDefault();
    const btn = keys.find(k => k.dataset.digit === ev.key);
    if (btn) { btn.classList.add("pressed"); setTimeout(() => btn.classList.remove("pressed"), 150); }
    press(ev.key);
  });
  window.addEventListener("pagehide", () => { if (ws) ws.close(); });
  window.ivrboxTestCall = { Resampler: Resampler, IN_RATE: IN_RATE, HALF_TAPS: HALF_TAPS };  // for the browser test
})();
