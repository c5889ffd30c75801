// The compact list: one row per device with its full id, sortable by each column (a header
// click sorts by it, a second click reverses), virtualised like the tiles (virtual.js).

import { VirtualView } from './virtual.js';
import { el, linkTo, setText, showDevice } from './device-cells.js';

export const ROW_HEIGHT = 30;

/** Columns: sort key (order.js SORTS), header, cell class. */
const COLUMNS = [
  ['id', 'id', 'c-id'],
  ['status', 'availability', 'c-status'],
  ['breaker', 'breaker', 'c-breaker'],
  ['fault', 'fault', 'c-fault'],
  ['state', 'state', 'c-state'],
  ['valve', 'valve', 'c-valve'],
  ['pump', 'drain pump', 'c-pump'],
  ['age', 'heartbeat', 'c-age'],
  ['availability', '24 h / page', 'c-availability'],
];

export class FleetList {
  /** `onSort(key)` is called with the column clicked. */
  constructor(scroller, fleet, faults, monitor, onSort) {
    this.fleet = fleet;
    this.faults = faults;
    this.monitor = monitor;
    const inner = el('div', 'list-inner');
    this.head = el('div', 'list-head');
    this.head.setAttribute('role', 'row');
    for (const [key, label, cls] of COLUMNS) {
      const cell = el('span', cls);
      cell.setAttribute('role', 'columnheader');
      const b = el('button', 'sort-by', label);
      b.type = 'button';
      b.dataset.sort = key;
      cell.append(b);
      this.head.append(cell);
    }
    this.head.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-sort]');
      if (b) onSort(b.dataset.sort);
    });
    const canvas = el('div', 'canvas');
    inner.append(this.head, canvas);
    scroller.append(inner);
    this.inner = inner;
    this.idChars = 0;
    this.view = new VirtualView(scroller, canvas, {
      rowHeight: ROW_HEIGHT,
      overscan: 10,
      create: () => this.create(),
      assign: (node, id) => {
        linkTo(node, id);
        node.parts.id.textContent = id;
      },
      render: (node, id) => this.render(node.parts, this.fleet.devices.get(id), this.fleet.now()),
    });
  }

  /** Marks the header of the column sorted by (aria-sort), and sizes the id column to the longest id. */
  showSort(key, dir) {
    for (const cell of this.head.children) {
      const k = cell.firstChild.dataset.sort;
      const sort = k === key ? (dir > 0 ? 'ascending' : 'descending') : 'none';
      if (cell.getAttribute('aria-sort') !== sort) cell.setAttribute('aria-sort', sort);
    }
  }

  fitIds() {
    const chars = Math.max(8, this.fleet.longestId);
    if (chars !== this.idChars) {
      this.idChars = chars;
      this.inner.style.setProperty('--id-chars', String(chars));
    }
  }

  create() {
    const root = el('a', 'row');
    root.setAttribute('role', 'row');
    root.style.height = `${ROW_HEIGHT}px`;
    const parts = { root };
    for (const [key, , cls] of COLUMNS) {
      const cell = el('span', cls);
      cell.setAttribute('role', 'cell');
      parts[key] = cell;
      root.append(cell);
    }
    parts.display = el('span', 'code-display');
    parts.faultText = el('span', 'fault-text');
    parts.fault.append(parts.display, parts.faultText);
    root.parts = parts;
    return root;
  }

  render(p, d, now) {
    const t = showDevice(p, this.fleet, this.faults, this.monitor, d, now);
    if (!t) return;
    setText(p.status, t.statusText);
    setText(p.breaker, t.breaker);
    setText(p.display, t.code ? t.display : '');
    setText(p.faultText, t.code ? `${t.code} ${t.faultText}` : '');
  }
}
