// The drawing pad of the page's explore modes: a size×size digit in [−1, 1]
// (1 is ink) that a visitor draws with a mouse, a finger or a pen, and a mask
// of the pixels to keep (1) or have the network fill in (0) that the eraser
// paints, for inpainting.
'use strict';

class Pad {
  // canvas: a <canvas> of size×size pixels, scaled up by CSS.
  // onChange: called after every change (each pointer move that paints).
  constructor(canvas, size, onChange) {
    this.canvas = canvas;
    this.size = size;
    this.onChange = onChange;
    this.image = new Float32Array(size * size).fill(-1);
    this.mask = new Float32Array(size * size).fill(1);
    this.brush = 'draw'; // or 'erase'
    this.ctx = canvas.getContext('2d');
    this.pixels = this.ctx.createImageData(size, size);
    // One pointer draws at a time (a second finger or a resting palm is
    // ignored); the primary button or a pen's tip draws with the brush, a
    // pen's eraser end erases.
    let last = null, pointer = null, brush = null;
    const at = (e) => {
      const r = canvas.getBoundingClientRect(); // the content box: inside the border
      const x = e.clientX - r.left - canvas.clientLeft, y = e.clientY - r.top - canvas.clientTop;
      return [(x / canvas.clientWidth) * size - 0.5, (y / canvas.clientHeight) * size - 0.5];
    };
    canvas.addEventListener('pointerdown', (e) => {
      const eraserEnd = e.pointerType === 'pen' && (e.button === 5 || (e.buttons & 32) !== 0);
      if (pointer !== null || (e.button !== 0 && !eraserEnd)) return;
      e.preventDefault();
      canvas.setPointerCapture(e.pointerId);
      pointer = e.pointerId;
      brush = eraserEnd ? 'erase' : this.brush;
      last = at(e);
      this.stroke(last, last, brush);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (e.pointerId !== pointer) return;
      e.preventDefault();
      const coalesced = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      for (const ev of coalesced.length ? coalesced : [e]) { // every sample of a fast stroke
        const p = at(ev);
        this.stroke(last, p, brush);
        last = p;
      }
    });
    const end = (e) => { if (e.pointerId === pointer) { pointer = null; last = null; } };
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) canvas.addEventListener(type, end);
    canvas.addEventListener('contextmenu', (e) => e.preventDefault());
    canvas.style.touchAction = 'none'; // a finger draws instead of scrolling the page
    this.render();
  }

  // stroke paints the segment from a to b (pad coordinates) with brush
  // ('draw' or 'erase'; the pad's own by default).
  stroke(a, b, brush = this.brush) {
    const n = this.size;
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    const steps = Math.max(1, Math.ceil(len * 4));
    // Ink: full within 0.9 px of the pen, fading out by 1.9 px, a stroke
    // about as wide as MNIST's. The eraser clears a disc of radius 2.5.
    const reach = brush === 'erase' ? 2.5 : 1.9;
    for (let s = 0; s <= steps; s++) {
      const cx = a[0] + ((b[0] - a[0]) * s) / steps, cy = a[1] + ((b[1] - a[1]) * s) / steps;
      for (let y = Math.max(0, Math.floor(cy - reach)); y <= Math.min(n - 1, Math.ceil(cy + reach)); y++) {
        for (let x = Math.max(0, Math.floor(cx - reach)); x <= Math.min(n - 1, Math.ceil(cx + reach)); x++) {
          const d = Math.hypot(x - cx, y - cy), i = y * n + x;
          if (brush === 'erase') {
            if (d <= reach) this.mask[i] = 0;
          } else {
            const ink = Math.min(1, Math.max(0, 1.9 - d));
            this.image[i] = Math.max(this.image[i], 2 * ink - 1);
            this.mask[i] = 1;
          }
        }
      }
    }
    this.changed();
  }

  // set shows img (size² values in [−1, 1]) with nothing erased.
  set(img) {
    this.image.set(img);
    this.mask.fill(1);
    this.changed();
  }

  clear() {
    this.image.fill(-1);
    this.mask.fill(1);
    this.changed();
  }

  // erase clears a half of the mask: 'top', 'bottom', 'left' or 'right'.
  erase(half) {
    const n = this.size;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const hit = { top: y < n / 2, bottom: y >= n / 2, left: x < n / 2, right: x >= n / 2 }[half];
        if (hit) this.mask[y * n + x] = 0;
      }
    }
    this.changed();
  }

  changed() {
    this.render();
    if (this.onChange) this.onChange();
  }

  // render draws the digit white on black; pixels to fill in are shown in
  // a dim red with the old ink faintly through.
  render() {
    const p = this.pixels.data;
    for (let i = 0; i < this.image.length; i++) {
      const v = Math.round((this.image[i] + 1) * 127.5);
      if (this.mask[i] > 0) {
        p[4 * i] = p[4 * i + 1] = p[4 * i + 2] = v;
      } else {
        p[4 * i] = 90 + v * 0.25; p[4 * i + 1] = 28 + v * 0.15; p[4 * i + 2] = 40 + v * 0.15;
      }
      p[4 * i + 3] = 255;
    }
    this.ctx.putImageData(this.pixels, 0, 0);
  }
}
