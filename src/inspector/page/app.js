// The live feed: one article per exchange, newest first, fed by the
// Server-Sent Events of ./events. Request data reaches the DOM only through
// textContent and setAttribute (render.js).
import { el, fromBase64, renderBytes, renderLegend } from './render.js';

const feed = document.getElementById('feed');
const status = document.getElementById('status');
const legend = document.getElementById('legend');
const panel = document.getElementById('detail');
const MAX_ARTICLES = 200;
let rules = {};

function summaryOf(x) {
  const d = x.dict;
  const req = x.request.outcome;
  let line;
  if (d) line = `${d.verb} ${d.path}${d.querystr === null ? '' : `?${d.querystr}`} HTTP/${d.version}`;
  else if (req && req.error) line = `rejected: ${req.error.code}`;
  else line = '(request)';
  const st = x.response && x.response.outcome && x.response.outcome.messages.length > 0 ? statusOf(x) : '';
  return `#${x.id} ${line}${st ? ` → ${st}` : ''}`;
}

function statusOf(x) {
  const bytes = fromBase64(x.response.base64);
  const s = x.response.outcome.ranges.find((r) => r.kind === 'status');
  return s ? String.fromCharCode(...bytes.subarray(s.start, s.end)) : '';
}

function section(title, id) {
  const s = el('section', 'part');
  s.append(el('h3', '', title));
  if (id) s.id = id;
  return s;
}

function errorBox(error) {
  const box = el('p', 'error-box');
  box.setAttribute('role', 'note');
  box.append(el('strong', '', `Rejected: ${error.code}`), document.createTextNode(` · status ${error.status} · at byte ${error.offset} · ${error.reason}`), el('br'), el('span', 'error-rule', `Rule: ${error.rule}`));
  box.dataset.code = error.code;
  box.dataset.offset = String(error.offset);
  box.dataset.status = String(error.status);
  return box;
}

/** The dictionary as JSON, each raw header on one line (as the wire has it). */
function formatDict(d) {
  const { rawheaders, ...rest } = d;
  const head = JSON.stringify(rest, null, 2);
  const raw = rawheaders.map((pair) => `    ${JSON.stringify(pair)}`).join(',\n');
  return `${head.slice(0, -2)},\n  "rawheaders": [\n${raw}\n  ]\n}`;
}

export function renderExchange(x) {
  const art = el('article', `exchange state-${x.state}`);
  art.id = `ex-${x.id}`;
  art.dataset.id = String(x.id);
  art.dataset.state = x.state;
  art.dataset.connection = String(x.connection);
  art.dataset.sequence = String(x.sequence);
  const h = el('h2', '', summaryOf(x));
  art.append(h, el('p', 'meta', `connection ${x.connection}, request ${x.sequence} on it · from ${x.remote} · ${new Date(x.started).toISOString()} · ${x.state}`));

  const reqSec = section(`Request bytes (${x.request.total}${x.request.truncated ? `, first ${x.request.outcome ? '' : ''}${fromBase64(x.request.base64).length} shown` : ''})`);
  const reqBytes = el('pre', 'bytes request-bytes');
  renderBytes(reqBytes, fromBase64(x.request.base64), x.request.outcome, rules, panel);
  reqSec.append(reqBytes);
  if (x.request.outcome && x.request.outcome.error) reqSec.append(errorBox(x.request.outcome.error));
  art.append(reqSec);

  const dictSec = section('Request dictionary');
  const dict = el('pre', 'dict', x.dict ? formatDict(x.dict) : x.state === 'rejected' ? '(none: the callback was not called)' : '(not yet)');
  dictSec.append(dict);
  art.append(dictSec);

  const resSec = section(`Response bytes${x.response ? ` (${x.response.total})` : ''}`);
  if (x.response) {
    const resBytes = el('pre', 'bytes response-bytes');
    renderBytes(resBytes, fromBase64(x.response.base64), x.response.outcome, rules, panel);
    resSec.append(resBytes);
  } else resSec.append(el('p', '', '(none yet)'));
  art.append(resSec);
  return art;
}

function onExchange(ev) {
  const x = JSON.parse(ev.data);
  const art = renderExchange(x);
  const old = document.getElementById(`ex-${x.id}`);
  if (old) old.replaceWith(art);
  else {
    feed.prepend(art);
    while (feed.children.length > MAX_ARTICLES) feed.lastElementChild.remove();
  }
  document.body.dataset.exchanges = String(feed.children.length);
}

const source = new EventSource('./events');
source.addEventListener('hello', (ev) => {
  const hello = JSON.parse(ev.data);
  rules = hello.rules;
  renderLegend(legend, rules);
  status.textContent = `connected · ${hello.history} exchange(s) recorded`;
  document.body.dataset.connected = 'yes';
  document.dispatchEvent(new CustomEvent('inspector-rules', { detail: rules }));
});
source.addEventListener('exchange', onExchange);
source.addEventListener('error', () => {
  status.textContent = 'disconnected: retrying…';
  document.body.dataset.connected = 'no';
});
