// The tiles: one card per device, in the order of order.js, virtualised (virtual.js): only the
// tiles in view exist, and a tile leaving the view is reused for one entering it. Only text that
// changed is written.

import { el, linkTo, setText, showDevice } from './device-cells.js';
import { VirtualView } from './virtual.js';

/** A tile's height and the gap between tiles (px); the width follows the window. */
export const TILE = { height: 188, gap: 10, minWidth: 210 };

export class TileGrid {
  /** @param {import('./monitor-feed.js').MonitorFeed | null} [monitor] the monitor's figures, if there is one */
  constructor(scroller, fleet, faults, monitor = null) {
    this.fleet = fleet;
    this.faults = faults;
    this.monitor = monitor;
    const canvas = el('div', 'canvas');
    scroller.append(canvas);
    this.view = new VirtualView(scroller, canvas, {
      rowHeight: TILE.height,
      gap: TILE.gap,
      minColumnWidth: TILE.minWidth,
      overscan: 2,
      create: () => this.create(),
      assign: (node, id) => {
        linkTo(node, id);
        node.parts.name.textContent = id;
        node.title = id;
      },
      render: (node, id) => this.render(node.parts, this.fleet.devices.get(id), this.fleet.now()),
    });
  }

  create() {
    const root = el('a', 'tile');
    root.style.height = `${TILE.height}px`;
    const head = el('div', 'tile-head');
    const name = el('span', 'tile-name');
    const avail = el('span', 'avail');
    head.append(name, avail);
    const display = el('div', 'display');
    const faultText = el('div', 'fault-text');
    const facts = el('dl', 'facts');
    facts.title = this.monitor && this.monitor.enabled ? '' : 'availability: as seen by this page since it opened (no monitor configured)';
    const parts = { root, name, avail, display, faultText };
    for (const [key, label] of [
      ['state', 'state'],
      ['valve', 'valve'],
      ['pump', 'drain pump'],
      ['age', 'heartbeat'],
      ['availability', 'availability'],
    ]) {
      const dt = el('dt', '', label);
      const dd = el('dd', key);
      facts.append(dt, dd);
      parts[key] = dd;
    }
    root.append(head, display, faultText, facts);
    root.parts = parts;
    return root;
  }

  render(p, d, now) {
    const t = showDevice(p, this.fleet, this.faults, this.monitor, d, now);
    if (!t) return;
    setText(p.avail, t.statusText);
    setText(p.display, t.display);
    setText(p.faultText, t.faultText);
  }
}
