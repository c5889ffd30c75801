// A virtualised view: of a long list of ids only the rows inside the scroller's viewport (plus
// a few above and below) exist in the DOM, absolutely placed on a canvas as tall as the whole
// list. Leaving rows' nodes are reused for entering ones, so scrolling creates almost nothing.
// Tiles are rows of several columns; the list is one column.

/** Rows (or tile rows) of the window: the first and one past the last, with `overscan` rows either side. */
export function visibleRows(scrollTop, viewportHeight, pitch, rowCount, overscan) {
  if (rowCount === 0 || pitch <= 0) return { first: 0, last: 0 };
  const first = Math.max(0, Math.floor(scrollTop / pitch) - overscan);
  const last = Math.min(rowCount, Math.ceil((scrollTop + Math.max(0, viewportHeight)) / pitch) + overscan);
  return { first, last: Math.max(first, last) };
}

/** A row's node: an element the view's owner may give its own fields (its parts, say). @typedef {HTMLElement & { [field: string]: any }} RowNode */

export class VirtualView {
  /**
   * @param {HTMLElement} scroller the element that scrolls (overflow: auto)
   * @param {HTMLElement} canvas a child of the scroller holding the rows (position: relative)
   * @param {object} o
   * @param {number} o.rowHeight height of one row (px)
   * @param {number} [o.gap] between rows and columns (px)
   * @param {number | null} [o.minColumnWidth] tiles: the narrowest a column may be; omitted for one column
   * @param {number} [o.overscan] rows drawn beyond the viewport on each side
   * @param {() => RowNode} o.create a new node
   * @param {(node: RowNode, id: string) => void} o.assign when a node shows another device
   * @param {(node: RowNode, id: string) => void} o.render writes what changed
   */
  constructor(scroller, canvas, o) {
    this.scroller = scroller;
    this.canvas = canvas;
    this.o = { gap: 0, minColumnWidth: null, overscan: 2, ...o };
    this.ids = [];
    /** id -> node shown now */
    this.shown = new Map();
    /** nodes not showing anything, out of the DOM (so the DOM holds exactly the shown rows) */
    this.spare = [];
    this.columns = 1;
    this.width = 0;
    scroller.addEventListener('scroll', () => this.layout(), { passive: true });
    new ResizeObserver(() => this.layout()).observe(scroller);
  }

  get nodeCount() {
    return this.shown.size;
  }

  /** Shows `ids`; `fromTop` (another filter or sort: a new list) scrolls back to its start. */
  setIds(ids, fromTop = false) {
    this.ids = ids;
    if (fromTop && this.scroller.scrollTop !== 0) this.scroller.scrollTop = 0;
    this.layout();
  }

  /** Re-renders the shown rows whose device changed. */
  refresh(dirty) {
    for (const [id, node] of this.shown) if (dirty.has(id)) this.render(node, id);
  }

  /** Re-renders every shown row (the clock moved: ages). */
  renderShown() {
    for (const [id, node] of this.shown) this.render(node, id);
  }

  render(node, id) {
    this.o.render(node, id);
  }

  layout() {
    const { rowHeight, gap, minColumnWidth, overscan } = this.o;
    const width = this.canvas.clientWidth;
    // Hidden (display: none): nothing to place; the next layout after it shows does it.
    if (width === 0) return;
    const columns = minColumnWidth ? Math.max(1, Math.floor((width + gap) / (minColumnWidth + gap))) : 1;
    const columnWidth = (width - (columns - 1) * gap) / columns;
    const pitch = rowHeight + gap;
    const rows = Math.ceil(this.ids.length / columns);
    const height = `${Math.max(0, rows * pitch - gap)}px`;
    if (this.canvas.style.height !== height) this.canvas.style.height = height;
    const reflow = columns !== this.columns || width !== this.width;
    this.columns = columns;
    this.width = width;
    const top = this.scroller.scrollTop - this.canvas.offsetTop;
    const { first, last } = visibleRows(top, this.scroller.clientHeight, pitch, rows, overscan);
    const from = first * columns;
    const to = Math.min(this.ids.length, last * columns);

    const wanted = new Set();
    for (let i = from; i < to; i++) wanted.add(this.ids[i]);
    // Nodes whose device left the window show entering ones in place (no DOM insertion); the
    // ones left over leave the DOM for later.
    const leaving = [];
    for (const [id, node] of this.shown) {
      if (wanted.has(id)) continue;
      this.shown.delete(id);
      leaving.push(node);
    }
    for (let i = from; i < to; i++) {
      const id = this.ids[i];
      let node = this.shown.get(id);
      if (!node) {
        node = leaving.pop();
        const fresh = node === undefined;
        if (fresh) node = this.spare.pop() ?? this.o.create();
        this.o.assign(node, id);
        this.render(node, id);
        if (fresh) this.canvas.appendChild(node);
        node.dataset.slot = '';
        this.shown.set(id, node);
      }
      // Place it (only when its slot moved: unchanged rows cost nothing).
      const slot = `${i}`;
      if (node.dataset.slot !== slot || reflow) {
        node.dataset.slot = slot;
        const row = Math.floor(i / columns);
        const col = i - row * columns;
        node.style.transform = `translate(${Math.round(col * (columnWidth + gap))}px, ${row * pitch}px)`;
        if (minColumnWidth) node.style.width = `${columnWidth}px`;
      }
    }
    for (const node of leaving) {
      node.remove();
      node.dataset.slot = '';
      if (this.spare.length < 256) this.spare.push(node);
    }
  }
}
