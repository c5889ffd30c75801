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
  const config = await loadConfig();
  const topics = new Topics(config.topics, config.baseTopic);
  const fleet = new Fleet(topics);
  const monitor = new MonitorFeed(config.monitorApi, (ids) => {
    for (const id of ids) if (fleet.devices.has(id)) fleet.dirty.add(id);
    schedule();
  });
  const availability = (d) => {
    if (monitor.enabled) return monitor.report(d.id)?.availability.d1 ?? null;
    return fleet.availability(d);
  };
  const order = new FleetOrder(fleet, { faults: config.faults, severities: config.severities, availability });
  const tiles = new TileGrid($('#tiles'), fleet, config.faults, monitor);
  const list = new FleetList($('#list'), fleet, config.faults, monitor, (key) => sortBy(key));
  const views = { tiles: tiles.view, list: list.view };
  let mode = 'tiles';
  const shown = () => views[mode];
  const summaryBar = new SummaryBar($('#facets'), config.faults, (facet) => {
    order.toggleFacet(facet);
    showOrder(true);
  });

  const sortMenu = $('#sort');
  for (const [key, label] of Object.entries(SORTS)) sortMenu.append(new Option(label, key));
  sortMenu.addEventListener('change', () => sortBy(sortMenu.value, 1));
  const sortBy = (key, dir) => {
    order.sortBy(key, dir);
    showOrder(true);
  };

  const status = $('#conn');
  $('#broker').textContent = config.wsUrl;
  if (config.monitorUrl) {
    const link = $('#metrics');
    link.href = new URL('/metrics', config.monitorUrl).href;
    link.hidden = false;
  }

  const operator = new Operator(mqtt, config.wsUrl, topics, fleet);
  const view = new DeviceView($('#device-view'), {
    fleet,
    faults: config.faults,
    injections: config.injections,
    operator,
    viewer: () => viewer.client,
    askCredentials: askCredentialsWith(operator),
    monitor,
  });

  const perf = (window.aquastopStats = { messages: 0, flushes: 0, renderedTiles: 0, maxFlushMs: 0, devices: 0, shown: 0 });

  /**
   * The order, facet or filter changed: the summary bar, the empty note and the view in use.
   * `fromTop`: a person asked for another selection or order, shown from its start.
   */
  function showOrder(fromTop = false) {
    summaryBar.render(order.summary(), order.facet);
    sortMenu.value = order.sortKey;
    list.showSort(order.sortKey, order.sortDir);
    list.fitIds();
    shown().setIds(order.ids, fromTop);
    const empty = $('#empty');
    const none = order.ids.length === 0 && fleet.devices.size > 0;
    empty.hidden = !none;
    if (none) empty.textContent = `No device matches${order.facet ? ` "${order.facet.replace(':', ' ')}"` : ''}${order.text ? ` and "${order.text}"` : ''}.`;
    perf.shown = order.ids.length;
  }

  function setMode(next) {
    mode = next;
    document.body.dataset.mode = mode;
    $('#tiles').hidden = mode !== 'tiles';
    $('#list').hidden = mode !== 'list';
    for (const b of document.querySelectorAll('.modes button')) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
    showOrder();
  }
  $('.modes').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-mode]');
    if (b) setMode(b.dataset.mode);
  });

  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const t0 = performance.now();
    const ids = fleet.dirty;
    fleet.dirty = new Set();
    const before = shown().renders;
    if (order.update(ids)) showOrder();
    shown().refresh(ids);
    if (view.id && ids.has(view.id)) view.update();
    renderSummary();
    perf.flushes++;
    perf.renderedTiles += shown().renders - before;
    perf.devices = fleet.devices.size;
    perf.maxFlushMs = Math.max(perf.maxFlushMs, performance.now() - t0);
  };
  function schedule() {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  }
  const renderSummary = () => {
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
  };

  const problem = $('#broker-problem');
  const showProblem = (p) => {
    problem.hidden = p === null;
    if (!p) return;
    problem.querySelector('.problem-title').textContent = p.title;
    problem.querySelector('.problem-detail').textContent = p.detail;
    const ul = problem.querySelector('.problem-checks');
    ul.replaceChildren(...p.checks.map((c) => Object.assign(document.createElement('li'), { textContent: c })));
  };

  const viewer = new ViewerConnection(mqtt, config.wsUrl, sessionStorage, {
    onConnect: (client) => {
      signIn.hide();
      renderSummary();
      client.subscribe(READ_TOPICS.map((name) => topics.filter(name)), { qos: 1 });
      // Signed in with an operator account and asked to use it for commands too.
      const account = viewer.account;
      if (account && account.operator && !operator.loggedIn) operator.login(account.username, account.password).catch(() => undefined);
    },
    onMessage: (topic, payload) => {
      perf.messages++;
      if (fleet.handle(topic, payload.toString())) schedule();
    },
    onState: ({ state, text, user }) => {
      status.textContent = text;
      status.dataset.state = state;
      signIn.showAccount(state === 'connected' ? user : null);
    },
    onRefused: ({ anonymous, reason }) => {
      showProblem(null);
      signIn.show(anonymous ? '' : reason);
      renderSummary();
    },
    onUnreachable: showProblem,
  });
  const signIn = new SignInForm(viewer, operator, config.wsUrl);
  viewer.start();

  setInterval(() => {
    fleet.tick();
    if (order.tick()) showOrder();
    shown().renderShown();
    view.update();
    renderSummary();
    schedule();
  }, 1000);

  const route = () => {
    const m = /^#\/device\/(.+)$/.exec(location.hash);
    if (m) view.open(decodeURIComponent(m[1]));
    else view.close();
    document.body.dataset.view = m ? 'device' : 'fleet';
  };
  window.addEventListener('hashchange', route);
  route();
  $('#filter').addEventListener('input', (e) => {
    order.setText(e.target.value);
    showOrder(true);
  });
  showOrder();
}

main().catch((err) => {
  const conn = $('#conn');
  conn.textContent = `failed to start: ${err.message}`;
  conn.dataset.state = 'error';
});
