// A Web Worker running the compute-only Go program (worker.wasm): it denoises
// its slice of the batch and posts every step back to the page.
'use strict';

// syscall/js passes every property and method name from Go to JavaScript as
// bytes that wasm_exec.js decodes with TextDecoder.decode, and for each call
// Blink makes an options object on the worker's garbage-collected heap:
// about seven a step (each call into Go reads _pendingEvent, id, this, args,
// length, result). That heap is collected rarely: in a 6-minute probe each
// worker made ~19,000 of them. Short ASCII names are decoded here instead,
// without the object.
const decode = TextDecoder.prototype.decode;
TextDecoder.prototype.decode = function (input, options) {
  if (options === undefined && input instanceof DataView && input.byteLength <= 64) {
    const b = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let s = '';
    for (let i = 0; i < b.length; i++) {
      if (b[i] > 127) return decode.call(this, input);
      s += String.fromCharCode(b[i]);
    }
    return s;
  }
  return decode.call(this, input, options);
};

importScripts('wasm_exec.js');

let memory = null; // the Go program's linear memory, for the soak test's readings
const ready = (async () => {
  const go = new Go();
  const { instance } = await WebAssembly.instantiateStreaming(fetch('worker.wasm'), go.importObject);
  memory = instance.exports.mem;
  go.run(instance); // returns only when the Go program exits, which it does not
})();

let epoch = 0;      // bumped by every start: steps of an older run are dropped
let paused = false;
let delay = 0;      // ms between steps (the page's speed control)
let running = false;
let pixels = 0;    // values per image, from the loaded network
let out = null;     // ddpmStart's output: the step's info and images
let lastCollectMs = 0; // how long the last sampling's garbage collection took

self.onmessage = async (e) => {
  try {
    await ready;
  } catch (err) {
    self.postMessage({ type: 'error', error: 'could not start WebAssembly in a worker: ' + err });
    return;
  }
  try {
    handle(e.data);
  } catch (err) { // nothing is left to fail silently: the page shows it
    self.postMessage({ type: 'error', error: 'the worker failed: ' + err });
  }
};

function handle(m) {
  switch (m.type) {
    case 'load': {
      const r = self.ddpmLoad(m.bytes, m.simd !== false, m.gogc || 0);
      pixels = r.pixels;
      self.postMessage(r.error ? { type: 'error', error: r.error } : { type: 'loaded', config: r.config, T: r.T, schedule: r.schedule, step: r.step, simd: r.simd, simdWhy: r.simdWhy });
      break;
    }
    case 'start': {
      epoch = m.epoch;
      delay = m.delay;
      paused = false;
      // The arrays each step is written into (worker/main.go says why),
      // kept from the last start when the size is the same: new ones every
      // sampling would be garbage that V8 frees only in a full collection.
      const px = (m.params.hi - m.params.lo) * pixels;
      if (!out || out.x.length !== px) out = { info: new Float64Array(4), x: new Float32Array(px), x0: new Float32Array(px) };
      const r = self.ddpmStart(m.params, out);
      if (r.error) {
        self.postMessage({ type: 'error', error: r.error });
        break;
      }
      if (!running) loop();
      break;
    }
    case 'pause': paused = true; break;
    case 'resume': paused = false; if (!running) loop(); break;
    case 'delay': delay = m.delay; break;
    case 'memory': self.postMessage({ type: 'memory', id: m.id, bytes: memory ? memory.buffer.byteLength : 0, go: self.ddpmMemStats(), collectMs: lastCollectMs }); break;
  }
}

// loop takes one step and schedules the next, so messages (pause, a new
// start) are handled between steps. Without a delay the next step is queued
// as a message: a chain of setTimeout(0) waits at least 4 ms a step.
const tick = new MessageChannel();
tick.port1.onmessage = () => loop();
function loop() {
  if (paused) { running = false; return; }
  running = true;
  const ep = epoch;
  let r;
  try {
    r = self.ddpmStep();
  } catch (err) {
    r = { error: 'the worker failed: ' + err };
  }
  if (r && r.error) {
    running = false;
    if (r.error !== 'not started') self.postMessage({ type: 'error', error: r.error });
    return;
  }
  const info = out.info, done = info[3] === 1;
  // Copied, not transferred: the same two arrays take the next step.
  self.postMessage({ type: 'step', epoch: ep, index: info[0], total: info[1], t: info[2], done, x: out.x, x0: out.x0 });
  if (++posted % collectEvery === 0) askForFullCollection();
  if (done) { // the last step is on its way: now collect (worker/main.go's collect says why)
    running = false;
    lastCollectMs = self.ddpmCollect().ms;
    return;
  }
  if (delay > 0) setTimeout(loop, delay);
  else tick.port2.postMessage(null);
}

// Every message leaves a few small objects on the worker's Blink heap (the
// event, the options of each postMessage), and Blink frees them only in a
// full V8 collection, which a worker whose JavaScript makes almost no garbage
// rarely has: in a soak the workers' Blink heaps grew from 1.3 to 11.8 MB
// in 16 minutes with no collection. V8 starts a full collection when
// ArrayBuffer memory has grown by 64 MB since the last one (its external
// memory limit), so every collectEvery steps a larger ArrayBuffer is made
// and dropped. It is never written, and fresh pages are zero, so it costs
// address space, not memory. With it the heaps stay at 1.8 MB for 30 minutes.
const collectEvery = 200;
let posted = 0;
function askForFullCollection() {
  try {
    new ArrayBuffer(80 << 20);
  } catch (err) { /* no address space to spare: the heap is collected later */ }
}
