// Bootstrap: read the config, connect to the broker over WebSocket as a viewer (signing in when
// the broker refuses anonymous viewers), feed the fleet model, and render changes once per
// animation frame (never per message): the order of the devices, the summary bar, and the
// tiles or list rows in view.

import mqtt from '/vendor/mqtt.esm.js';
import { Fleet, READ_TOPICS } from './fleet.js';
import { Topics } from './topics.js';
import { TileGrid } from './tiles.js';
import { FleetList } from './list.js';
import { FleetOrder, SORTS } from './order.js';
import { SummaryBar } from './summary.js';
import { DeviceView } from './device-view.js';
import { Operator } from './operator.js';
import { MonitorFeed } from './monitor-feed.js';
import { ViewerConnection } from './viewer.js';
import { SignInForm, askCredentialsWith } from './sign-in.js';

const $ = (sel) => document.querySelector(sel);

async function loadConfig() {
  const config = await (await fetch('/config.json')).json();
  const q = new URLSearchParams(location.search);
  return { ...config, wsUrl: q.get('ws') ?? config.wsUrl, baseTopic: q.get('base') ?? config.baseTopic };
}

async function main() {
  const page = new FleetPage(await loadConfig());
  page.listenToControls();
  page.connect();
  setInterval(() => page.tick(), 1000);
  page.followRoute();
  page.showOrder();
}

/** The page: the fleet model and its views, the controls, the connections and the render flush. */
class FleetPage {
  // Set by the build steps the constructor calls (and connect()); declared for the page's type check.
  /** @type {Topics} */ topics;
  /** @type {Fleet} */ fleet;
  /** @type {MonitorFeed} */ monitor;
  /** @type {FleetOrder} */ order;
  /** @type {TileGrid} */ tiles;
  /** @type {FleetList} */ list;
  /** @type {{ tiles: import('./virtual.js').VirtualView, list: import('./virtual.js').VirtualView }} */ views;
  /** @type {'tiles' | 'list'} */ mode;
  /** @type {SummaryBar} */ summaryBar;
  /** @type {HTMLSelectElement} */ sortMenu;
  /** @type {HTMLElement} */ status;
  /** @type {Operator} */ operator;
  /** @type {DeviceView} */ view;
  /** @type {ViewerConnection} */ viewer;

  constructor(config) {
    this.config = config;
    this.buildModel();
    this.buildViews();
    this.buildHeader();
    this.buildDeviceView();
    this.scheduled = false;
  }

  /** The topics, the fleet model, the monitor's figures and the order of the devices. */
  buildModel() {
    const { config } = this;
    this.topics = new Topics(config.topics, config.baseTopic);
    const fleet = (this.fleet = new Fleet(this.topics));
    const monitor = (this.monitor = new MonitorFeed(config.monitorApi, (ids) => {
      for (const id of ids) if (fleet.devices.has(id)) fleet.dirty.add(id);
      this.schedule();
    }));
    const availability = (d) => {
      if (monitor.enabled) return monitor.report(d.id)?.availability.d1 ?? null;
      return fleet.availability(d);
    };
    this.order = new FleetOrder(fleet, { faults: config.faults, severities: config.severities, availability });
  }

  /** The tiles, the list, the summary bar and the sort menu. */
  buildViews() {
    const { config, fleet, monitor, order } = this;
    this.tiles = new TileGrid($('#tiles'), fleet, config.faults, monitor);
    this.list = new FleetList($('#list'), fleet, config.faults, monitor, (key) => this.sortBy(key));
    this.views = { tiles: this.tiles.view, list: this.list.view };
    this.mode = 'tiles';
    this.summaryBar = new SummaryBar($('#facets'), config.faults, (facet) => {
      order.toggleFacet(facet);
      this.showOrder(true);
    });
    const sortMenu = (this.sortMenu = $('#sort'));
    for (const [key, label] of Object.entries(SORTS)) sortMenu.append(new Option(label, key));
    sortMenu.addEventListener('change', () => this.sortBy(sortMenu.value, 1));
  }

  /** The broker's address and, with a monitor, the link to its metrics. */
  buildHeader() {
    const { config } = this;
    this.status = $('#conn');
    $('#broker').textContent = config.wsUrl;
    if (config.monitorUrl) {
      const link = $('#metrics');
      link.href = new URL('/metrics', config.monitorUrl).href;
      link.hidden = false;
    }
  }

  /** The operator's connection and one device's view. */
  buildDeviceView() {
    const { config, fleet, monitor } = this;
    const operator = (this.operator = new Operator(mqtt, config.wsUrl, this.topics, fleet));
    this.view = new DeviceView($('#device-view'), {
      fleet,
      faults: config.faults,
      injections: config.injections,
      operator,
      viewer: () => this.viewer.client,
      askCredentials: askCredentialsWith(operator),
      monitor,
    });
  }

  shown() {
    return this.views[this.mode];
  }

  sortBy(key, dir) {
    this.order.sortBy(key, dir);
    this.showOrder(true);
  }

  /**
   * The order, facet or filter changed: the summary bar, the empty note and the view in use.
   * `fromTop`: a person asked for another selection or order, shown from its start.
   */
  showOrder(fromTop = false) {
    const { order, list, fleet } = this;
    this.summaryBar.render(order.summary(), order.facet);
    this.sortMenu.value = order.sortKey;
    list.showSort(order.sortKey, order.sortDir);
    list.fitIds();
    this.shown().setIds(order.ids, fromTop);
    const empty = $('#empty');
    const none = order.ids.length === 0 && fleet.devices.size > 0;
    empty.hidden = !none;
    if (none) empty.textContent = `No device matches${order.facet ? ` "${order.facet.replace(':', ' ')}"` : ''}${order.text ? ` and "${order.text}"` : ''}.`;
  }

  setMode(next) {
    const mode = (this.mode = next);
    document.body.dataset.mode = mode;
    $('#tiles').hidden = mode !== 'tiles';
    $('#list').hidden = mode !== 'list';
    for (const b of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.modes button'))) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
    this.showOrder();
  }

  /** The tiles/list buttons and the filter box. */
  listenToControls() {
    $('.modes').addEventListener('click', (e) => {
      const b = /** @type {HTMLElement | null} */ (e.target.closest('button[data-mode]'));
      if (b) this.setMode(b.dataset.mode);
    });
    $('#filter').addEventListener('input', (e) => {
      this.order.setText(e.target.value);
      this.showOrder(true);
    });
  }

  /** One render per animation frame, of the devices that changed since the last. */
  flush() {
    const { fleet, order, view } = this;
    this.scheduled = false;
    const ids = fleet.dirty;
    fleet.dirty = new Set();
    if (order.update(ids)) this.showOrder();
    this.shown().refresh(ids);
    if (view.id && ids.has(view.id)) view.update();
    this.renderSummary();
  }

  schedule() {
    if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => this.flush());
    }
  }

  renderSummary() {
    const { fleet } = this;
    if (document.body.dataset.signin) {
      $('#summary').textContent = 'sign in to see the fleet';
      return;
    }
    const s = fleet.summary();
    const deadBridges = fleet.offlineBridges();
    const bridge = deadBridges > 0 ? ` · ${deadBridges} publisher${deadBridges === 1 ? '' : 's'} (bridge) offline` : '';
    const ignored = fleet.stats.ignoredDevices > 0 ? ` · messages for more than ${fleet.devices.size.toLocaleString('en')} devices ignored` : '';
    $('#summary').textContent =
      `${s.total.toLocaleString('en')} appliances · ${s.online.toLocaleString('en')} online · ${s.down.toLocaleString('en')} down · ${s.faulted.toLocaleString('en')} with a fault${bridge}${ignored}`;
    document.body.dataset.bridge = fleet.bridges.size === 0 ? 'unknown' : deadBridges > 0 ? 'offline' : 'online';
  }

  /** Why the broker cannot be reached and what to check, or nothing (`p` null). */
  showProblem(p) {
    const problem = $('#broker-problem');
    problem.hidden = p === null;
    if (!p) return;
    problem.querySelector('.problem-title').textContent = p.title;
    problem.querySelector('.problem-detail').textContent = p.detail;
    const ul = problem.querySelector('.problem-checks');
    ul.replaceChildren(...p.checks.map((c) => Object.assign(document.createElement('li'), { textContent: c })));
  }

  /** The viewer connection (anonymous first, signing in when refused), feeding the fleet model. */
  connect() {
    const { config, fleet, operator, status } = this;
    const viewer = (this.viewer = new ViewerConnection(mqtt, config.wsUrl, sessionStorage, {
      onConnect: (client) => {
        signIn.hide();
        this.renderSummary();
        client.subscribe(
          READ_TOPICS.map((name) => this.topics.filter(name)),
          { qos: 1 },
        );
        // Signed in with an operator account and asked to use it for commands too.
        const account = viewer.account;
        if (account && account.operator && !operator.loggedIn) operator.login(account.username, account.password).catch(() => undefined);
      },
      onMessage: (topic, payload) => {
        if (fleet.handle(topic, payload.toString())) this.schedule();
      },
      onState: ({ state, text, user }) => {
        status.textContent = text;
        status.dataset.state = state;
        signIn.showAccount(state === 'connected' ? user : null);
      },
      onRefused: ({ anonymous, reason }) => {
        this.showProblem(null);
        signIn.show(anonymous ? '' : reason);
        this.renderSummary();
      },
      onUnreachable: (p) => this.showProblem(p),
    }));
    const signIn = new SignInForm(viewer, operator, config.wsUrl);
    viewer.start();
  }

  /** Every second: ages, silences and the availability shown move on without messages. */
  tick() {
    this.fleet.tick();
    if (this.order.tick()) this.showOrder();
    this.shown().renderShown();
    this.view.update();
    this.renderSummary();
    this.schedule();
  }

  /** `#/device/<id>` opens that device's view; anything else shows the fleet. */
  followRoute() {
    const route = () => {
      const m = /^#\/device\/(.+)$/.exec(location.hash);
      if (m) this.view.open(decodeURIComponent(m[1]));
      else this.view.close();
      document.body.dataset.view = m ? 'device' : 'fleet';
    };
    window.addEventListener('hashchange', route);
    route();
  }
}

main().catch((err) => {
  const conn = $('#conn');
  conn.textContent = `failed to start: ${err.message}`;
  conn.dataset.state = 'error';
});
