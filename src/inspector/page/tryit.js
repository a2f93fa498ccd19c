// "Try it": parses a typed message in the browser with the parser modules
// the server runs (./parser/*.js), fed N bytes at a time, and lists what
// each piece made the parser do.
import './buffer-shim.js';
import { el, renderBytes, visibleText } from './render.js';

const form = document.getElementById('tryit');
const out = document.getElementById('tryit-out');
const panel = document.getElementById('detail');
let rules = {};
document.addEventListener('inspector-rules', (e) => (rules = e.detail));

/** `\r\n`-style escapes (\r \n \t \0 \\ \xHH) → bytes; other characters as latin1 (one byte each). */
export function unescape(s) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      const e = s[i + 1];
      const map = { r: 13, n: 10, t: 9, 0: 0, '\\': 92 };
      if (e in map) {
        bytes.push(map[e]);
        i++;
        continue;
      }
      const hex = s.slice(i + 2, i + 4);
      if (e === 'x' && hex.length === 2 && Number.isInteger(parseInt(hex, 16)) && isHexPair(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 3;
        continue;
      }
    }
    bytes.push(s.charCodeAt(i) & 0xff);
  }
  return Uint8Array.from(bytes);
}
const isHexPair = (h) => [...h].every((ch) => '0123456789abcdefABCDEF'.includes(ch));

function bodyField(body) {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    return { body: text, bodyLength: body.length };
  } catch {
    return { body_base64: btoa(String.fromCharCode(...body)), bodyLength: body.length };
  }
}

/** The fields `repy-http parse` prints for a message (those that need only the parser). */
function messageJson(m) {
  const h = m.head;
  if ('method' in h) {
    const q = h.target.indexOf('?');
    return {
      verb: h.method, path: q === -1 ? h.target : h.target.slice(0, q), querystr: q === -1 ? null : h.target.slice(q + 1),
      version: h.version, rawheaders: h.rawHeaders, ...bodyField(m.body), trailers: m.trailers, keepAlive: h.keepAlive,
      ...(h.upgrade ? { upgrade: true } : {}), ...(h.expectContinue ? { expectContinue: true } : {}), complete: m.complete,
    };
  }
  return { version: h.version, statuscode: h.status, statusmsg: h.reason, rawheaders: h.rawHeaders, ...bodyField(m.body), trailers: m.trailers, keepAlive: h.keepAlive, complete: m.complete };
}

function describeEvent(ev) {
  if (ev.type === 'head') return 'method' in ev.head ? `head: ${ev.head.method} ${ev.head.target} HTTP/${ev.head.version}` : `head: ${ev.head.status} ${ev.head.reason}`;
  if (ev.type === 'data') return `data: ${ev.data.length} byte(s) "${visibleText(ev.data)}"`;
  if (ev.type === 'end') return `end of message${ev.trailers.length ? ` (${ev.trailers.length} trailer field(s))` : ''}`;
  return `error: ${ev.error.code} (status ${ev.error.status}) at byte ${ev.error.offset}`;
}

/** Feeds `bytes` in pieces of `n`, recording each piece's events and the parser's state after it. */
function steps(parser, bytes, n, eof) {
  const list = [];
  let failed = false;
  for (let from = 0; from < bytes.length && !failed; from += n) {
    const to = Math.min(bytes.length, from + n);
    parser.push(bytes.subarray(from, to));
    const events = [];
    for (;;) {
      const ev = parser.next();
      if (ev.type === 'partial') break;
      events.push(describeEvent(ev));
      if (ev.type === 'error') {
        failed = true;
        break;
      }
    }
    list.push({ from, to, events, state: parser.state });
    if (parser.upgraded) break;
  }
  if (eof && !failed && !parser.upgraded) {
    parser.finish();
    const events = [];
    for (;;) {
      const ev = parser.next();
      if (ev.type === 'partial') break;
      events.push(describeEvent(ev));
      if (ev.type === 'error') break;
    }
    list.push({ from: bytes.length, to: bytes.length, events: ['(end of input)', ...events], state: parser.state });
  }
  return list;
}

let current = { steps: [], at: -1, bytesView: null };

function showStep(k) {
  const { steps: list, bytesView } = current;
  if (list.length === 0) return;
  current.at = Math.max(0, Math.min(list.length - 1, k));
  const to = list[current.at].to;
  for (const li of out.querySelectorAll('#tryit-steps > li')) li.removeAttribute('aria-current');
  const li = out.querySelector(`#tryit-steps > li:nth-child(${current.at + 1})`);
  li.setAttribute('aria-current', 'step');
  for (const span of bytesView.querySelectorAll('span.r')) span.classList.toggle('fed', Number(span.dataset.start) < to);
  document.getElementById('tryit-position').textContent = `step ${current.at + 1} of ${list.length}: ${to} byte(s) fed · state ${list[current.at].state}`;
}

async function run(ev) {
  ev.preventDefault();
  const parserModule = await import('./parser/index.js');
  const text = document.getElementById('tryit-input').value;
  const kind = document.getElementById('tryit-kind').value;
  const n = Math.max(1, Number(document.getElementById('tryit-split').value) || 1);
  const eof = document.getElementById('tryit-eof').checked;
  const bytes = unescape(text);
  const options = { kind, eof, split: n };
  const r = parserModule.parseMessages(bytes, options);
  const ranges = parserModule.messageRanges(bytes, options);
  const summary = {
    messages: r.messages.map(messageJson),
    error: r.error ? r.error.toJSON() : null,
    consumed: r.consumed,
    ...(r.upgraded ? { upgraded: true } : {}),
    ...(r.partial ? { partial: true } : {}),
  };
  const parser = kind === 'response' ? new parserModule.ResponseParser() : new parserModule.RequestParser();
  const list = steps(parser, bytes, n, eof);

  out.replaceChildren();
  out.append(el('h3', '', `${bytes.length} byte(s), ${r.messages.length} message(s)${r.error ? `, rejected: ${r.error.code}` : ''}`));
  const view = el('pre', 'bytes tryit-bytes');
  view.id = 'tryit-bytes';
  renderBytes(view, bytes, ranges, rules, panel);
  out.append(view);
  if (ranges.error) {
    const box = el('p', 'error-box');
    box.append(el('strong', '', `Rejected: ${ranges.error.code}`), document.createTextNode(` · status ${ranges.error.status} · at byte ${ranges.error.offset} · ${ranges.error.reason}`), el('br'), el('span', 'error-rule', `Rule: ${ranges.error.rule}`));
    box.dataset.code = ranges.error.code;
    out.append(box);
  }
  const nav = el('div', 'step-nav');
  const prev = el('button', '', 'Previous piece');
  prev.type = 'button';
  prev.id = 'tryit-prev';
  const next = el('button', '', 'Next piece');
  next.type = 'button';
  next.id = 'tryit-next';
  const pos = el('span', 'position');
  pos.id = 'tryit-position';
  pos.setAttribute('aria-live', 'polite');
  prev.addEventListener('click', () => showStep(current.at - 1));
  next.addEventListener('click', () => showStep(current.at + 1));
  nav.append(prev, next, pos);
  out.append(el('h3', '', `Fed ${n} byte(s) at a time`), nav);
  const ol = el('ol', 'steps');
  ol.id = 'tryit-steps';
  for (const s of list) {
    const li = el('li');
    li.append(el('code', '', `[${s.from}, ${s.to}) "${visibleText(bytes.subarray(s.from, s.to))}"`), document.createTextNode(` → ${s.events.length ? s.events.join('; ') : 'partial (needs more bytes)'} · state: ${s.state}`));
    ol.append(li);
  }
  out.append(ol);
  const json = el('pre', 'json', JSON.stringify(summary, null, 2));
  json.id = 'tryit-json';
  out.append(el('h3', '', 'As repy-http parse prints it'), json);
  current = { steps: list, at: -1, bytesView: view };
  showStep(0);
  out.dataset.done = String(Number(out.dataset.done ?? 0) + 1);
}

form.addEventListener('submit', (ev) => {
  run(ev).catch((e) => {
    out.replaceChildren(el('p', 'error-box', `The parser could not run here: ${e && e.message ? e.message : e}`));
  });
});
