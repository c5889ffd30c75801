// Bootstrap: read the config, connect to the broker over WebSocket as a viewer (signing in when
// the broker refuses anonymous viewers), feed the fleet model, and render changes once per
// animation frame (never per message).

import mqtt from '/vendor/mqtt.esm.js';
import { Fleet } from './fleet.js';
import { TileGrid } from './tiles.js';
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
  const base = config.baseTopic;
  const fleet = new Fleet(base);
  const monitor = new MonitorFeed(config.monitorApi, (ids) => {
    for (const id of ids) if (fleet.devices.has(id)) fleet.dirty.add(id);
    schedule();
  });
  const grid = new TileGrid($('#tiles'), fleet, config.faults, monitor);
  const status = $('#conn');
  $('#broker').textContent = config.wsUrl;
  if (config.monitorUrl) {
    const link = $('#metrics');
    link.href = new URL('/metrics', config.monitorUrl).href;
    link.hidden = false;
  }

  const operator = new Operator(mqtt, config.wsUrl, base, fleet);
  const view = new DeviceView($('#device-view'), {
    fleet,
    faults: config.faults,
    operator,
    viewer: () => viewer.client,
    askCredentials: askCredentialsWith(operator),
    monitor,
  });

  const perf = (window.aquastopStats = { messages: 0, flushes: 0, renderedTiles: 0, maxFlushMs: 0 });
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const t0 = performance.now();
    const ids = fleet.dirty;
    fleet.dirty = new Set();
    grid.update(ids);
    if (view.id && ids.has(view.id)) view.update();
    renderSummary();
    perf.flushes++;
    perf.renderedTiles += ids.size;
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
    $('#summary').textContent = `${s.total} appliances · ${s.online} online · ${s.down} down · ${s.faulted} with a fault${bridge}`;
    document.body.dataset.bridge = fleet.bridges.size === 0 ? 'unknown' : deadBridges > 0 ? 'offline' : 'online';
  };

  const topics = [`${base}/+`, `${base}/+/availability`, `${base}/+/heartbeat`, `${base}/+/fault`, `${base}/+/set/result`, `${base}/bridge/+/state`];
  const viewer = new ViewerConnection(mqtt, config.wsUrl, sessionStorage, {
    onConnect: (client) => {
      signIn.hide();
      renderSummary();
      client.subscribe(topics, { qos: 1 });
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
      signIn.show(anonymous ? '' : reason);
      renderSummary();
    },
  });
  const signIn = new SignInForm(viewer, operator, config.wsUrl);
  viewer.start();

  setInterval(() => {
    fleet.tick();
    grid.tick();
    view.update();
    renderSummary();
  }, 1000);

  const route = () => {
    const m = /^#\/device\/(.+)$/.exec(location.hash);
    if (m) view.open(decodeURIComponent(m[1]));
    else view.close();
    document.body.dataset.view = m ? 'device' : 'fleet';
  };
  window.addEventListener('hashchange', route);
  route();
  $('#filter').addEventListener('input', (e) => grid.setFilter(e.target.value));
}

main().catch((err) => {
  const conn = $('#conn');
  conn.textContent = `failed to start: ${err.message}`;
  conn.dataset.state = 'error';
});
