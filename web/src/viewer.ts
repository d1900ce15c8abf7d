// A photo in a frame that zooms (wheel, +/-) and pans (drag), with the animal's box outlined. The
// photo is fitted to the frame; the box is drawn in the photo's own pixels (EXIF-oriented, as the
// browser shows it), so it stays on the animal at any zoom.
import { setImage } from './api.js';
import { h } from './dom.js';
import type { Box } from './types.js';

export interface Shown {
  src: string;
  /** The photo's size in pixels (the box's frame); the image's own size when not given. */
  width?: number;
  height?: number;
  box?: Box | null;
  mirrored?: boolean;
  caption?: string;
}

const MIN_SCALE = 1;
const MAX_SCALE = 16;

export class PhotoViewer {
  readonly element: HTMLElement;
  private readonly frame: HTMLElement;
  private readonly stage: HTMLElement;
  private readonly img: HTMLImageElement;
  private readonly boxEl: HTMLElement;
  private readonly caption: HTMLElement;
  private shown: Shown | null = null;
  private natural = { width: 0, height: 0 };
  private scale = 1;
  private tx = 0;
  private ty = 0;
  private fit = { width: 0, height: 0, x: 0, y: 0 };
  private drag: { x: number; y: number; id: number } | null = null;
  private readonly resize: ResizeObserver;

  constructor(label: string, className = '') {
    this.img = h('img', { alt: label, draggable: 'false' });
    this.boxEl = h('div', { class: 'box', hidden: true });
    this.stage = h('div', { class: 'stage' }, this.img, this.boxEl);
    this.frame = h('div', { class: 'frame', tabindex: '-1', title: 'wheel or +/- to zoom, drag to pan, 0 to fit' }, this.stage);
    this.caption = h('div', { class: 'caption' });
    this.element = h('figure', { class: `viewer ${className}`.trim(), 'aria-label': label }, this.frame, this.caption);
    this.img.addEventListener('load', () => {
      this.natural = { width: this.img.naturalWidth, height: this.img.naturalHeight };
      this.layout(true);
    });
    this.frame.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = this.frame.getBoundingClientRect();
      this.zoomBy(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    this.frame.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      this.drag = { x: e.clientX, y: e.clientY, id: e.pointerId };
      this.frame.setPointerCapture(e.pointerId);
      this.frame.classList.add('dragging');
    });
    this.frame.addEventListener('pointermove', (e) => {
      if (!this.drag || e.pointerId !== this.drag.id) return;
      this.tx += e.clientX - this.drag.x;
      this.ty += e.clientY - this.drag.y;
      this.drag.x = e.clientX;
      this.drag.y = e.clientY;
      this.apply();
    });
    const end = (e: PointerEvent): void => {
      if (this.drag?.id !== e.pointerId) return;
      this.drag = null;
      this.frame.classList.remove('dragging');
    };
    this.frame.addEventListener('pointerup', end);
    this.frame.addEventListener('pointercancel', end);
    this.frame.addEventListener('dblclick', () => this.reset());
    this.resize = new ResizeObserver(() => this.layout(false));
    this.resize.observe(this.frame);
  }

  show(photo: Shown | null): void {
    this.shown = photo;
    this.element.classList.toggle('empty', !photo);
    this.caption.textContent = photo?.caption ?? '';
    if (!photo) {
      this.img.removeAttribute('src');
      delete this.img.dataset.src;
      this.boxEl.hidden = true;
      return;
    }
    this.img.classList.toggle('mirrored', photo.mirrored ?? false);
    if (this.img.dataset.src !== photo.src) {
      this.natural = { width: 0, height: 0 };
      setImage(this.img, photo.src);
    } else this.layout(true);
  }

  dispose(): void {
    this.resize.disconnect();
  }

  /** The photo's size: as given, else as decoded. */
  private size(): { width: number; height: number } {
    const s = this.shown;
    if (s?.width && s.height) return { width: s.width, height: s.height };
    return this.natural;
  }

  /** Fits the photo to the frame (and, with `reset`, zooms back out). */
  private layout(reset: boolean): void {
    const { width, height } = this.size();
    const fw = this.frame.clientWidth;
    const fh = this.frame.clientHeight;
    if (!width || !height || !fw || !fh) return;
    const f = Math.min(fw / width, fh / height);
    this.fit = { width: width * f, height: height * f, x: (fw - width * f) / 2, y: (fh - height * f) / 2 };
    this.stage.style.width = `${this.fit.width}px`;
    this.stage.style.height = `${this.fit.height}px`;
    const box = this.shown?.box;
    this.boxEl.hidden = !box;
    if (box) {
      Object.assign(this.boxEl.style, {
        left: `${(box.x0 / width) * 100}%`,
        top: `${(box.y0 / height) * 100}%`,
        width: `${((box.x1 - box.x0) / width) * 100}%`,
        height: `${((box.y1 - box.y0) / height) * 100}%`,
      });
    }
    if (reset) this.reset();
    else this.apply();
  }

  reset(): void {
    this.scale = 1;
    this.tx = this.fit.x;
    this.ty = this.fit.y;
    this.apply();
  }

  /** Zooms about a point of the frame (its centre by default). */
  zoomBy(factor: number, cx = this.frame.clientWidth / 2, cy = this.frame.clientHeight / 2): void {
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    const u = (cx - this.tx) / this.scale;
    const v = (cy - this.ty) / this.scale;
    this.tx = cx - u * next;
    this.ty = cy - v * next;
    this.scale = next;
    if (next === MIN_SCALE) this.reset();
    else this.apply();
  }

  /** Zooms onto the box, when there is one. */
  zoomToBox(): void {
    const box = this.shown?.box;
    const { width, height } = this.size();
    if (!box || !width || !height) return;
    const f = this.fit.width / width;
    const bw = (box.x1 - box.x0) * f;
    const bh = (box.y1 - box.y0) * f;
    const fw = this.frame.clientWidth;
    const fh = this.frame.clientHeight;
    this.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, 0.9 * Math.min(fw / bw, fh / bh)));
    this.tx = fw / 2 - ((box.x0 + box.x1) / 2) * f * this.scale;
    this.ty = fh / 2 - ((box.y0 + box.y1) / 2) * f * this.scale;
    this.apply();
  }

  get zoom(): number {
    return this.scale;
  }

  private apply(): void {
    this.stage.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`;
    // The box's outline keeps its width on screen at any zoom.
    this.stage.style.setProperty('--zoom', String(this.scale));
    this.element.dataset.zoom = this.scale.toFixed(2);
  }
}
