// The page's script: reads the settings (URL parameters, and the controls on
// index.html), loads the weights, runs the network in Web Workers (each its
// own Go WebAssembly instance, the batch split between them) and hands every
// denoising step to the ebiten program (main.wasm), which draws it.
'use strict';

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

// Test hooks: the end-to-end test reads these.
window.ddpmError = null;
window.ddpmDone = false;
window.ddpmResult = null;
window.ddpmSteps = 0;
window.ddpmFrames = 0;
window.ddpmTimes = {};
window.ddpmSIMD = null; // whether the workers run the WebAssembly SIMD kernels

function fail(msg) {
  window.ddpmError = msg;
  const e = $('error');
  e.textContent = msg;
  e.hidden = false;
}
window.ddpmFail = fail;

// URL parameters a visitor got wrong are not silently changed: each one
// the page cannot use as asked becomes a visible note saying what it used.
const notes = [];
function note(msg) {
  notes.push(msg);
  const e = $('note');
  if (e) { e.textContent = notes.join(' · '); e.hidden = false; }
}
window.ddpmNotes = notes;

// num reads a number parameter in lo..hi (a whole number when int is set).
function num(name, def, lo, hi, int) {
  const raw = params.get(name);
  if (raw === null || raw === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || (int && !Number.isInteger(v))) {
    note(`${name}=${raw} is not ${int ? 'a whole number' : 'a number'}; using ${def}`);
    return def;
  }
  if (v < lo || v > hi) {
    const used = Math.min(hi, Math.max(lo, v));
    note(`${name}=${raw} is outside ${lo}–${hi}; using ${used}`);
    return used;
  }
  return v;
}

// choice reads a parameter that must be one of allowed.
function choice(name, def, allowed) {
  const raw = params.get(name);
  if (raw === null || raw === '') return def;
  if (allowed.includes(raw)) return raw;
  note(`${name}=${raw} is not one of ${allowed.join(', ')}; using ${def}`);
  return def;
}

// Two networks ship (weights/README.md): "full" (C=16, the trainer's
// default), the page's default, and "small" (C=8): a quarter of the
// arithmetic per step for a few digits fewer right.
const models = { full: 'weights/mnist.safetensors', small: 'weights/mnist-small.safetensors' };
const model = choice('model', 'full', Object.keys(models));

// The samplers of ddpm.NewSampler, and the page's default: chosen from the
// steps-vs-quality table in weights/README.md.
const samplers = ['dpmpp2m', 'dpmpp2m-sde', 'dpmpp3m', 'ddim', 'ddpm'];
const defaults = { sampler: 'dpmpp2m', steps: 10 };

const settings = {
  model,
  weights: params.get('weights') || models[model],
  digit: choice('digit', 'mix', ['mix', 'none', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']), // mix: 0–9 in turn
  sampler: choice('sampler', defaults.sampler, samplers),
  steps: num('steps', defaults.steps, 1, 1000, true),
  eta: num('eta', 0, 0, 1),
  guidance: num('guidance', 2, 0, 10),
  seed: num('seed', Math.floor(Math.random() * 1e6), 0, 2 ** 31 - 1, true),
  grid: num('grid', 4, 1, 8, true),       // grid×grid digits
  delay: num('delay', 0, 0, 2000, true),  // ms between steps
  autoplay: choice('autoplay', '1', ['0', '1']) === '1',
  showX0: choice('x0', '0', ['0', '1']) === '1',
  workers: num('workers', 0, 0, 16, true), // 0: one per core, at most 4
  simd: choice('simd', '1', ['0', '1']) === '1', // 0: plain Go kernels, for comparisons
};

const state = { workers: [], epoch: 0, pending: new Map(), config: null, T: 1000, schedule: 'linear', nullLabel: 10, n: 0, paused: false };

function labels(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    if (settings.digit === 'mix') out.push(i % 10);
    else if (settings.digit === 'none') out.push(state.nullLabel);
    else out.push(parseInt(settings.digit, 10));
  }
  return out;
}

function layout() {
  const panel = $('panel');
  if (!panel || panel.hidden) return { left: 0, top: 0 };
  // Wide windows: the body, and so ebiten's canvas, sits beside the panel (style.css).
  if (window.innerWidth > 700) return { left: 0, top: 0 };
  return { left: 0, top: panel.getBoundingClientRect().bottom };
}

function start() {
  if (window.ddpmError || !state.config) return;
  state.epoch++;
  state.pending.clear();
  window.ddpmDone = false;
  window.ddpmResult = null;
  window.ddpmSteps = 0;
  window.ddpmTimes.start = performance.now();
  const n = settings.grid * settings.grid;
  state.n = n;
  const k = state.workers.length;
  const ls = labels(n);
  state.workers.forEach((w, i) => {
    const lo = Math.floor((n * i) / k), hi = Math.floor((n * (i + 1)) / k);
    w.slice = [lo, hi];
    if (lo === hi) return;
    w.postMessage({ type: 'start', epoch: state.epoch, delay: settings.delay, params: {
      n, lo, hi, labels: ls, seed: settings.seed, sampler: settings.sampler, steps: settings.steps,
      eta: settings.eta, guidance: settings.guidance } });
  });
  state.paused = false;
  updateControls();
}

// onStep collects each worker's slice of a step and shows the step once all are in.
function onStep(w, m) {
  if (m.epoch !== state.epoch) return;
  let s = state.pending.get(m.index);
  if (!s) {
    s = { x: new Float32Array(state.n * state.size * state.size), x0: new Float32Array(state.n * state.size * state.size), got: 0 };
    state.pending.set(m.index, s);
  }
  const px = state.size * state.size;
  s.x.set(m.x, w.slice[0] * px);
  s.x0.set(m.x0, w.slice[0] * px);
  s.got++;
  s.meta = m;
  const busy = state.workers.filter((v) => v.slice[1] > v.slice[0]).length;
  if (s.got < busy) return;
  state.pending.delete(m.index);
  window.ddpmSteps = m.index;
  if (m.index === 1) window.ddpmTimes.firstStep = performance.now();
  state.last = { n: state.n, cols: settings.grid, size: state.size, index: m.index, total: m.total, t: m.t,
    done: m.done, x: s.x, x0: s.x0, schedule: state.schedule, T: state.T };
  showStep();
  if (m.done) {
    window.ddpmTimes.done = performance.now();
    window.ddpmResult = Array.from(s.x);
    window.ddpmDone = true;
    updateControls();
  }
}

async function startWorkers(bytes) {
  const k = settings.workers || Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));
  const loaded = [];
  for (let i = 0; i < k; i++) {
    const w = new Worker('worker.js');
    w.slice = [0, 0];
    loaded.push(new Promise((resolve) => {
      w.onmessage = (e) => {
        const m = e.data;
        if (m.type === 'loaded') { resolve(m); return; }
        if (m.type === 'error') {
          fail(state.config ? 'The network failed: ' + m.error : 'The weights in ' + settings.weights + ' are not usable: ' + m.error);
          resolve(null);
          return;
        }
        if (m.type === 'step') onStep(w, m);
      };
    }));
    w.onerror = (e) => fail('A compute worker crashed: ' + (e.message || 'unknown error'));
    w.postMessage({ type: 'load', bytes, simd: settings.simd }); // structured clone: every worker gets its own copy
    state.workers.push(w);
  }
  const results = await Promise.all(loaded);
  if (results.some((r) => !r)) return false;
  state.config = JSON.parse(results[0].config);
  window.ddpmSIMD = results[0].simd;
  if (settings.simd && !results[0].simd) console.warn('ddpm: running without WebAssembly SIMD (slower): ' + results[0].simdWhy);
  state.size = state.config.image_size;
  state.T = results[0].T;
  state.nullLabel = state.config.num_classes;
  return true;
}

async function loadWeights() {
  let resp;
  try {
    resp = await fetch(settings.weights);
  } catch (err) {
    fail('Could not download the weights from ' + settings.weights + ': ' + err.message);
    return null;
  }
  if (!resp.ok) {
    fail('Could not download the weights from ' + settings.weights + ': HTTP ' + resp.status + ' ' + resp.statusText);
    return null;
  }
  return new Uint8Array(await resp.arrayBuffer());
}

// ebiten asks WebGL for a drawing buffer with the default antialias: true,
// four samples per pixel that pixel-sharp digits never need. Without a GPU
// (software WebGL) every presented frame pays for them: in headless Chromium
// on two cores, presenting 60 frames a second took 156% of a core with them
// and 108% without. So the drawing program's context is asked for none.
const getContext = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function (kind, attrs) {
  if ((kind === 'webgl2' || kind === 'webgl') && attrs && attrs.antialias === undefined) attrs.antialias = false;
  return getContext.call(this, kind, attrs);
};

// A finished page should cost nothing. The drawing program stops drawing
// when sampling ends (ebiten then calls Update and Draw only when asked), but
// ebiten still asks for an animation frame on every frame, and each one wakes
// the renderer. So while the drawing program is idle (window.ddpmIdle, set by
// it) its next animation-frame callback is parked, and ddpmWake hands it back.
const requestFrame = window.requestAnimationFrame.bind(window);
let parked = [];
window.ddpmIdle = false;
window.requestAnimationFrame = (cb) => {
  if (window.ddpmIdle) { parked.push(cb); return 0; }
  return requestFrame(cb);
};
window.ddpmWake = () => {
  window.ddpmIdle = false;
  for (const cb of parked.splice(0)) requestFrame(cb);
};

// ebiten reads the gamepads on every update; the page has no use for them,
// and once a page asks, Chromium polls the hardware on a thread of its own
// for as long as the page is open (0.2 CPU-seconds per 10 s on a finished
// page, measured). So the drawing program sees no gamepads.
Object.defineProperty(Navigator.prototype, 'getGamepads', { value: () => [], configurable: true });

// startDrawing runs the drawing program, compiled (or compiling) in module.
async function startDrawing(module) {
  const go = new Go();
  const instance = await WebAssembly.instantiate(await module, go.importObject);
  go.run(instance).catch((err) => fail('The drawing program stopped: ' + err));
}

// sizeCanvas makes room for x̂₀ beside xₜ or not: ebiten sizes its canvas to
// the body (style.css) when the window reports a resize.
function sizeCanvas() {
  document.body.classList.toggle('x0', settings.showX0);
  window.dispatchEvent(new Event('resize'));
}

// showStep shows the newest step, at most one every minStepMs: when steps
// come faster than that (few digits, the small network) the ones in between
// are skipped, which leaves the CPU to the workers and the frame rate up. The
// last step is always shown.
const minStepMs = 50;
let lastShown = 0, showTimer = 0;
function showStep() {
  const flush = () => { clearTimeout(showTimer); showTimer = 0; lastShown = performance.now(); show(); };
  const wait = lastShown + minStepMs - performance.now();
  if (state.last.done || wait <= 0) flush();
  else if (!showTimer) showTimer = setTimeout(flush, wait);
}

// ddpmLabels sets the drawing's text (called by the drawing program after
// each full draw): HTML over the canvas, in the page's fonts.
window.ddpmLabels = (labels) => {
  const canvas = document.querySelector('canvas');
  let box = $('labels');
  if (!canvas || !box) return;
  const r = canvas.getBoundingClientRect();
  const seen = new Set();
  for (const l of labels) {
    let e = document.getElementById('label-' + l.id);
    if (!e) {
      e = document.createElement('div');
      e.id = 'label-' + l.id;
      box.appendChild(e);
    }
    if (e.innerHTML !== l.html) e.innerHTML = l.html;
    e.style.left = (r.left + l.x) + 'px';
    e.style.top = (r.top + l.y) + 'px';
    e.hidden = false;
    seen.add(e.id);
  }
  for (const e of box.children) if (!seen.has(e.id)) e.hidden = true;
};

// show hands the last complete step to the drawing program.
function show() {
  if (!state.last) return;
  const lay = layout();
  window.ddpmShow(Object.assign({}, state.last, { showX0: settings.showX0, left: lay.left, top: lay.top }));
}
window.addEventListener('resize', show);

// Controls (index.html only; embed.html has none).
function updateControls() {
  const b = $('pause');
  if (b) b.textContent = state.paused ? 'Resume' : 'Pause';
}

function bindControls() {
  const form = $('controls');
  if (!form) return;
  const fields = ['model', 'digit', 'sampler', 'steps', 'eta', 'guidance', 'seed', 'grid', 'delay'];
  for (const f of fields) form.elements[f].value = settings[f];
  form.elements.x0.checked = settings.showX0;
  const read = () => {
    settings.digit = form.elements.digit.value;
    settings.sampler = form.elements.sampler.value;
    settings.steps = Math.max(1, Math.min(state.T, parseInt(form.elements.steps.value, 10) || defaults.steps));
    settings.eta = Math.max(0, Math.min(1, parseFloat(form.elements.eta.value) || 0));
    settings.guidance = Math.max(0, Math.min(10, parseFloat(form.elements.guidance.value) || 0));
    settings.seed = Math.max(0, parseInt(form.elements.seed.value, 10) || 0);
    settings.grid = Math.max(1, Math.min(8, parseInt(form.elements.grid.value, 10) || 4));
    settings.delay = Math.max(0, Math.min(2000, parseInt(form.elements.delay.value, 10) || 0));
    settings.showX0 = form.elements.x0.checked;
    $('stepsRow').hidden = settings.sampler === 'ddpm'; // DDPM takes all T steps
    $('etaRow').hidden = settings.sampler !== 'ddim';
  };
  form.addEventListener('change', (e) => {
    if (e.target.name === 'model') { // other weights: reload the page with them
      params.set('model', e.target.value);
      params.delete('weights');
      location.search = params.toString();
      return;
    }
    read();
    if (e.target.name === 'delay') state.workers.forEach((w) => w.postMessage({ type: 'delay', delay: settings.delay }));
    else if (e.target.name === 'x0') { sizeCanvas(); show(); }
    else start();
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); read(); start(); });
  $('newSeed').addEventListener('click', () => { form.elements.seed.value = Math.floor(Math.random() * 1e6); read(); start(); });
  $('pause').addEventListener('click', () => {
    state.paused = !state.paused;
    state.workers.forEach((w) => w.postMessage({ type: state.paused ? 'pause' : 'resume' }));
    updateControls();
  });
  read();
}

async function main() {
  window.ddpmTimes.load = performance.now();
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.compileStreaming !== 'function') {
    fail('This browser cannot run WebAssembly, which the demo needs. Try a current Firefox, Chrome or Safari.');
    return;
  }
  // Downloads, and main.wasm's compilation, start before anything that can
  // wait: the first WebGL context of a browser waits for its GPU process.
  const drawing = WebAssembly.compileStreaming(fetch('main.wasm'));
  drawing.catch(() => {}); // reported where it is awaited
  const weights = loadWeights();
  const probe = document.createElement('canvas');
  if (!(probe.getContext('webgl2') || probe.getContext('webgl'))) {
    fail('This browser has WebGL turned off or unsupported; the demo draws with WebGL.');
    return;
  }
  bindControls();
  sizeCanvas();
  try {
    await startDrawing(drawing);
  } catch (err) {
    fail('Could not start the drawing program (main.wasm): ' + err);
    return;
  }
  const bytes = await weights;
  if (!bytes) return;
  if (!(await startWorkers(bytes))) return;
  window.ddpmTimes.ready = performance.now();
  if (settings.autoplay) start();
}

main();
