// Bootstrap: read the config, connect to the broker over WebSocket as a viewer, feed the fleet
// model, and render changes once per animation frame (never per message).

import mqtt from '/vendor/mqtt.esm.js';
import { Fleet } from './fleet.js';
import { TileGrid } from './tiles.js';
import { DeviceView } from './device-view.js';
import { Operator, explain } from './operator.js';
import { MonitorFeed } from './monitor-feed.js';

const $ = (sel) => document.querySelector(sel);

async function loadConfig() {
  const config = await (await fetch('/config.json')).json();
  const q = new URLSearchParams(location.search);
  return { ...config, wsUrl: q.get('ws') ?? config.wsUrl, baseTopic: q.get('base') ?? config.baseTopic };
}

function askCredentialsWith(operator) {
  const dialog = $('#login');
  const form = dialog.querySelector('form');
  const error = dialog.querySelector('.login-error');
  return () =>
    new Promise((resolve, reject) => {
      error.textContent = '';
      dialog.showModal();
      form.querySelector('[name=username]').focus();
      const cleanup = () => {
        form.removeEventListener('submit', onSubmit);
        dialog.removeEventListener('cancel', onCancel);
        form.querySelector('[data-cancel]').removeEventListener('click', onCancel);
      };
      const onCancel = (e) => {
        e.preventDefault();
        cleanup();
        dialog.close();
        reject(new Error('cancelled: no operator credentials given'));
      };
      const onSubmit = async (e) => {
        e.preventDefault();
        const user = form.username.value;
        const pass = form.password.value;
        error.textContent = 'connecting…';
        try {
          await operator.login(user, pass);
          cleanup();
          form.password.value = '';
          dialog.close();
          resolve();
        } catch (err) {
          error.textContent = err.message;
        }
      };
      form.addEventListener('submit', onSubmit);
      dialog.addEventListener('cancel', onCancel);
      form.querySelector('[data-cancel]').addEventListener('click', onCancel);
    });
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

  const viewer = mqtt.connect(config.wsUrl, {
    clientId: `aquastop-dashboard-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: 2000,
    connectTimeout: 8000,
  });
  const operator = new Operator(mqtt, config.wsUrl, base, fleet);
  const view = new DeviceView($('#device-view'), {
    fleet,
    faults: config.faults,
    operator,
    viewer: () => viewer,
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
    const s = fleet.summary();
    const bridge = fleet.bridge === 'offline' ? ' · publisher (bridge) offline' : '';
    $('#summary').textContent = `${s.total} appliances · ${s.online} online · ${s.down} down · ${s.faulted} with a fault${bridge}`;
    document.body.dataset.bridge = fleet.bridge ?? 'unknown';
  };

  viewer.on('connect', () => {
    status.textContent = 'connected';
    status.dataset.state = 'connected';
    viewer.subscribe([`${base}/+`, `${base}/+/availability`, `${base}/+/heartbeat`, `${base}/+/fault`, `${base}/+/set/result`, `${base}/bridge/state`], { qos: 1 });
  });
  viewer.on('reconnect', () => {
    status.textContent = 'reconnecting…';
    status.dataset.state = 'reconnecting';
  });
  viewer.on('error', (err) => {
    status.textContent = `broker error: ${explain(err)}`;
    status.dataset.state = 'error';
  });
  viewer.on('message', (topic, payload) => {
    perf.messages++;
    if (fleet.handle(topic, payload.toString())) schedule();
  });

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
