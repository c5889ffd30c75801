// The summary bar: how many devices are down, latched, tripped, and how many show each fault
// code (most severe first). Each figure is a button: pressed, the view shows only those devices;
// pressed again, all of them.

import { el } from './device-cells.js';

export class SummaryBar {
  /** `onFacet(facet)` is called with the figure pressed ('status:down', 'fault:i30', ...). */
  constructor(root, faults, onFacet) {
    this.root = root;
    this.faults = faults;
    this.rendered = '';
    root.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-facet]');
      if (b) onFacet(b.dataset.facet);
    });
  }

  /** `s` is FleetOrder.summary(); `active` the facet shown alone, or null. */
  render(s, active) {
    const chips = [
      { facet: 'status:down', label: 'down', count: s.down, kind: 'down', always: true },
      { facet: 'breaker:latched', label: 'latched', count: s.latched, kind: 'latched', always: true },
      { facet: 'breaker:tripped', label: 'tripped', count: s.tripped, kind: 'tripped', always: true },
      { facet: 'breaker:probing', label: 'probing', count: s.probing, kind: 'tripped' },
      { facet: 'breaker:service', label: 'service', count: s.service, kind: 'latched' },
      ...s.faults.map((f) => {
        const def = this.faults[f.code];
        return { facet: `fault:${f.code}`, label: def ? `${def.display} ${f.code}` : f.code, count: f.count, kind: def ? def.severity : 'error', title: def ? def.text : '' };
      }),
    ].filter((c) => c.always || c.count > 0 || c.facet === active);
    const key = JSON.stringify([chips, active]);
    if (key === this.rendered) return;
    this.rendered = key;
    this.root.replaceChildren(
      ...chips.map((c) => {
        const b = el('button', 'chip');
        b.type = 'button';
        b.dataset.facet = c.facet;
        b.dataset.kind = c.kind;
        b.dataset.count = String(c.count);
        b.setAttribute('aria-pressed', String(c.facet === active));
        b.title = `${c.title ? `${c.title}: ` : ''}${c.facet === active ? 'showing only these; press again for every device' : 'show only these'}`;
        b.append(el('span', 'chip-count', c.count.toLocaleString('en')), el('span', 'chip-label', c.label));
        return b;
      }),
    );
  }
}
