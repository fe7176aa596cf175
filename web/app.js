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

// The page's modes: sample (noise to digits), and three that start from a
// digit the visitor draws or picks: forward (scrub q(x_t | x_0) with a t
// slider), denoise (SDEdit: noise the digit to t, then run the reverse
// process from there) and inpaint (erase part of it; the network fills it in).
const modes = ['sample', 'forward', 'denoise', 'inpaint'];
const mode = choice('mode', 'sample', modes);

const settings = {
  mode,
  model,
  weights: params.get('weights') || models[model],
  // mix: 0–9 in turn; starting from a digit, the label steers it (none: unconditional)
  digit: choice('digit', mode === 'sample' ? 'mix' : 'none', ['mix', 'none', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']),
  t: num('t', 500, 0, 1000, true),         // forward and denoise: the paper's t to noise the digit to
  test: num('test', -1, 0, 299, true),      // the shipped test digit to start from (default: one picked by the seed)
  erase: choice('erase', 'top', ['top', 'bottom', 'left', 'right', 'none']), // inpaint: the half erased at the start
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
  gogc: num('gogc', 0, 0, 1000, true),     // the workers' GOGC, for measurements (0: theirs, 20)
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
  if (!panel || panel.hidden || document.body.classList.contains('tool-only')) return { left: 0, top: 0 };
  // Wide windows: the body, and so ebiten's canvas, sits beside the panel (style.css).
  if (window.innerWidth > 700) return { left: 0, top: 0 };
  return { left: 0, top: panel.getBoundingClientRect().bottom };
}

// stop drops the run in progress: its steps are ignored from now on, the
// workers pause, and nothing of it is drawn again.
function stop() {
  state.epoch++;
  state.pending.clear();
  clearTimeout(showTimer);
  showTimer = 0;
  state.last = null;
  state.workers.forEach((w) => w.postMessage({ type: 'pause' }));
}

function start() {
  if (window.ddpmError || !state.config) return;
  if (settings.mode !== 'sample' && !state.pad) return; // the explore modes' tool is not ready (or not possible)
  if (settings.mode === 'forward') { // nothing to run: the drawing program computes x_t
    stop();
    preview();
    return;
  }
  stop();
  window.ddpmDone = false;
  window.ddpmResult = null;
  window.ddpmSteps = 0;
  window.ddpmTimes.start = performance.now();
  const n = settings.grid * settings.grid;
  state.n = n;
  const k = state.workers.length;
  const ls = labels(n);
  const edit = {}; // the start image, for denoise and inpaint (worker's editOf)
  if (settings.mode === 'denoise') Object.assign(edit, { init: state.pad.image.slice(), from: Math.max(1, Math.min(state.T, settings.t)) });
  if (settings.mode === 'inpaint') Object.assign(edit, { init: state.pad.image.slice(), from: state.T, mask: state.pad.mask.slice() });
  window.ddpmStart = Object.assign({ seed: settings.seed, n }, edit); // what ran, for the tests
  state.workers.forEach((w, i) => {
    const lo = Math.floor((n * i) / k), hi = Math.floor((n * (i + 1)) / k);
    w.slice = [lo, hi];
    if (lo === hi) return;
    w.postMessage({ type: 'start', epoch: state.epoch, delay: settings.delay, params: Object.assign({
      n, lo, hi, labels: ls, seed: settings.seed, sampler: settings.sampler, steps: settings.steps,
      eta: settings.eta, guidance: settings.guidance }, edit) });
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
    window.ddpmResult = s.x; // the last step's images (a fresh array each step, never reused)
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
    w.postMessage({ type: 'load', bytes, simd: settings.simd, gogc: settings.gogc }); // structured clone: every worker gets its own copy
    state.workers.push(w);
  }
  const results = await Promise.all(loaded);
  if (results.some((r) => !r)) return false;
  state.config = JSON.parse(results[0].config);
  window.ddpmSIMD = results[0].simd;
  if (settings.simd && !results[0].simd) console.warn('ddpm: running without WebAssembly SIMD (slower): ' + results[0].simdWhy);
  state.size = state.config.image_size;
  state.T = results[0].T;
  state.schedule = results[0].schedule;
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
  state.drawingMemory = instance.exports.mem;
  go.run(instance).catch((err) => fail('The drawing program stopped: ' + err));
}

// ddpmMemory reports the WebAssembly memories in bytes, the drawing
// program's and each worker's (for the soak test: they only ever grow), with
// each worker's Go heap statistics.
window.ddpmMemory = async () => {
  const workers = await Promise.all(state.workers.map((w) => new Promise((resolve) => {
    const id = Math.random();
    const listen = (e) => {
      if (e.data.type === 'memory' && e.data.id === id) { w.removeEventListener('message', listen); resolve({ bytes: e.data.bytes, go: e.data.go, collectMs: e.data.collectMs }); }
    };
    w.addEventListener('message', listen);
    w.postMessage({ type: 'memory', id });
  })));
  return { drawing: state.drawingMemory ? state.drawingMemory.buffer.byteLength : 0, workers };
};

// sizeCanvas makes room for x̂₀ beside xₜ or not: ebiten sizes its canvas to
// the body (style.css) when the window reports a resize.
function sizeCanvas() {
  document.body.classList.toggle('x0', settings.showX0 && settings.mode !== 'forward');
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
  const canvas = document.querySelector('body > canvas'); // ebiten's, not the pad
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
    // Each step changes the status text: plain text goes into the label's
    // one text node, so that a step makes no new DOM nodes (garbage that the
    // page's heap keeps until a full collection, which can be many minutes).
    if (e.html !== l.html) {
      e.html = l.html;
      if (/[<&]/.test(l.html) || !(e.firstChild instanceof Text) || e.childNodes.length !== 1) e.innerHTML = l.html;
      else e.firstChild.data = l.html;
    }
    const left = (r.left + l.x) + 'px', top = (r.top + l.y) + 'px';
    if (e.style.left !== left) e.style.left = left;
    if (e.style.top !== top) e.style.top = top;
    e.hidden = false;
    seen.add(e.id);
  }
  for (const e of box.children) if (!seen.has(e.id)) e.hidden = true;
};

// show hands the last complete step to the drawing program.
function show() {
  if (!state.last) return;
  state.view = 'steps';
  const lay = layout();
  window.ddpmShow(Object.assign({}, state.last, { showX0: settings.showX0, left: lay.left, top: lay.top }));
}
window.addEventListener('resize', () => (state.view === 'forward' ? preview() : show()));

// preview has the drawing program show the pad's digit noised to the
// slider's t (forward and denoise modes): x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε with
// the seed's first ε, the noise the first digit of "Denoise" starts from.
// A denoising run in progress is dropped: it started from another x_t.
function preview() {
  if (!state.pad || !window.ddpmForward) return;
  if (settings.mode !== 'forward' && settings.mode !== 'denoise') return;
  if (state.last || showTimer || (!window.ddpmDone && state.epoch > 0)) stop();
  state.view = 'forward';
  const lay = layout();
  const t = Math.min(settings.t, state.T);
  window.ddpmForward({ x0: state.pad.image, size: state.size, t, seed: settings.seed,
    schedule: state.schedule, T: state.T, left: lay.left, top: lay.top });
  window.ddpmPreviewT = t;
}

// The shipped test digits (web/digits.png, from cmd/testdigits): 30 of each
// class, one row per class; digit i is the (i/10)-th of class i%10. They
// are downloaded the first time a mode needs them.
async function loadTestDigits() {
  const resp = await fetch('digits.png');
  if (!resp.ok) throw new Error('HTTP ' + resp.status);
  const bmp = await createImageBitmap(await resp.blob());
  const c = document.createElement('canvas');
  c.width = bmp.width; c.height = bmp.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(bmp, 0, 0);
  const size = 32, perClass = Math.floor(bmp.width / size);
  const px = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
  const digits = [];
  for (let i = 0; i < 10 * perClass; i++) {
    const ox = Math.floor(i / 10) * size, oy = (i % 10) * size;
    const img = new Float32Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) img[y * size + x] = px[4 * ((oy + y) * bmp.width + ox + x)] / 127.5 - 1;
    }
    digits.push(img);
  }
  return digits;
}

// toolPanel makes embed.html's narrow panel for the tool, before the
// drawing program starts so that its canvas is sized beside it from the
// start (index.html has its own panel).
function toolPanel() {
  if ($('tool') || settings.mode === 'sample') return;
  const panel = document.createElement('div');
  panel.id = 'panel';
  const host = document.createElement('div');
  host.id = 'tool';
  panel.appendChild(host);
  document.body.prepend(panel);
  document.body.classList.add('panel', 'tool-only');
}

// buildTool fills the tool: the pad, its buttons and the t slider.
function buildTool() {
  const host = $('tool');
  if (!host) return;
  if (state.size !== 32) {
    if (settings.mode !== 'sample') note(`the explore modes need a 32×32 network; this one is ${state.size}×${state.size}`);
    host.hidden = true;
    const menu = document.querySelector('select[name=mode]');
    if (menu) menu.disabled = true;
    return;
  }
  host.innerHTML = `
    <canvas id="pad" width="32" height="32" title="Draw a digit here (mouse, finger or pen)"></canvas>
    <div class="buttons">
      <button type="button" id="testDigit" class="secondary" title="a digit from MNIST's test set">Test digit</button>
      <button type="button" id="clearPad" class="secondary">Clear</button>
      <button type="button" id="brush" class="secondary"></button>
    </div>
    <label id="tRow" title="the forward process's t: 0 is the digit, ${state.T} pure noise">t
      <input id="t" type="range" min="0" max="${state.T}" step="1"><output id="tValue"></output></label>
    <button type="button" id="run"></button>`;
  state.pad = new Pad($('pad'), 32, () => { if (settings.mode !== 'inpaint') preview(); });
  $('testDigit').addEventListener('click', async () => {
    await pick(Math.floor(Math.random() * 1e6));
    if (settings.mode === 'inpaint') start();
  });
  $('clearPad').addEventListener('click', () => state.pad.clear());
  $('brush').addEventListener('click', () => {
    state.pad.brush = state.pad.brush === 'erase' ? 'draw' : 'erase';
    updateTool();
  });
  $('t').addEventListener('input', () => {
    settings.t = parseInt($('t').value, 10);
    updateTool();
    preview();
  });
  $('run').addEventListener('click', () => start());
  window.ddpmPad = () => ({ image: Array.from(state.pad.image), mask: Array.from(state.pad.mask) }); // for the tests
}

// pick puts test digit i (any integer, taken modulo their number) on the pad,
// with inpaint's starting erasure in that mode.
async function pick(i) {
  if (!state.digits) {
    try {
      state.digits = await loadTestDigits();
    } catch (err) {
      note('could not load the test digits (digits.png): ' + err.message + '; draw one instead');
      state.digits = [];
    }
  }
  if (!state.digits.length) return;
  state.test = ((i % state.digits.length) + state.digits.length) % state.digits.length;
  state.pad.set(state.digits[state.test]);
  if (settings.mode === 'inpaint' && settings.erase !== 'none') state.pad.erase(settings.erase);
}

// enterMode readies the tool for the current mode: a digit on the pad the
// first time, the brush, and a mask only in inpaint (elsewhere the whole
// digit counts, so nothing is shown erased).
async function enterMode() {
  updateTool();
  if (!state.pad || settings.mode === 'sample') return;
  if (!state.picked) {
    state.picked = true;
    await pick(settings.test >= 0 ? settings.test : settings.seed);
  }
  state.pad.brush = settings.mode === 'inpaint' ? 'erase' : 'draw';
  if (settings.mode !== 'inpaint') state.pad.mask.fill(1);
  else if (!state.pad.mask.includes(0) && settings.erase !== 'none') state.pad.erase(settings.erase);
  state.pad.render();
  updateTool();
}

// updateTool shows what the mode uses and says what the buttons do.
function updateTool() {
  for (const m of modes) document.body.classList.toggle('mode-' + m, settings.mode === m);
  if (!state.pad) return;
  const lo = settings.mode === 'denoise' ? 1 : 0; // denoising from t = 0 has nothing to do
  settings.t = Math.max(lo, Math.min(state.T, settings.t));
  $('t').min = lo;
  $('t').value = settings.t;
  $('brush').textContent = state.pad.brush === 'erase' ? 'Pen' : 'Eraser';
  $('brush').title = state.pad.brush === 'erase' ? 'draw ink' : 'erase what the network should fill in';
  $('tValue').textContent = settings.t;
  $('run').textContent = settings.mode === 'inpaint' ? 'Inpaint' : `Denoise from t = ${settings.t}`;
}

// setMode switches the page to mode m in place (index.html's Mode menu).
async function setMode(m) {
  settings.mode = m;
  params.set('mode', m);
  history.replaceState(null, '', '?' + params.toString());
  sizeCanvas();
  await enterMode();
  if (m === 'denoise') preview();
  start();
}

// Controls (index.html only; embed.html has none).
function updateControls() {
  const b = $('pause');
  if (b) b.textContent = state.paused ? 'Resume' : 'Pause';
}

function bindControls() {
  const form = $('controls');
  if (!form) return;
  const fields = ['mode', 'model', 'digit', 'sampler', 'steps', 'eta', 'guidance', 'seed', 'grid', 'delay'];
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
    if (e.target.name === 'mode') {
      // Starting from a digit, the default is no label; the page undoes its own change only.
      if (e.target.value !== 'sample' && settings.digit === 'mix') { form.elements.digit.value = 'none'; state.autoNone = true; }
      if (e.target.value === 'sample' && settings.digit === 'none' && state.autoNone) { form.elements.digit.value = 'mix'; state.autoNone = false; }
      read();
      setMode(e.target.value);
      return;
    }
    read();
    if (e.target.name === 'seed' && settings.mode === 'forward') preview();
    else if (e.target.name === 'delay') state.workers.forEach((w) => w.postMessage({ type: 'delay', delay: settings.delay }));
    else if (e.target.name === 'x0') { sizeCanvas(); if (state.view !== 'forward') show(); }
    else start();
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); read(); start(); });
  $('newSeed').addEventListener('click', () => { form.elements.seed.value = Math.floor(Math.random() * 1e6); read(); if (settings.mode === 'denoise') preview(); start(); });
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
  toolPanel();
  updateTool();
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
  buildTool();
  await enterMode();
  window.ddpmTimes.ready = performance.now();
  if (settings.mode === 'denoise') preview(); // the start, until the run's first step
  if (settings.autoplay || settings.mode === 'forward') start();
}

main();
