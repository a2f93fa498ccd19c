/**
 * The inspector page in headless Chromium, driven over the DevTools
 * protocol (test/helpers/cdp.ts). curl and raw sockets send valid,
 * keep-alive, chunked, pipelined and malformed requests; the page must show
 * each one live with the right ranges (the DOM's spans are compared with
 * messageRanges of the bytes that were sent), the rejected byte with its
 * error code, the dictionary and the response. Hostile bytes must not run:
 * a binding the payloads would call and a request they would make are
 * watched, with the CSP on and then bypassed (so that textContent alone is
 * what is tested). The try-it box, which runs the compiled parser in the
 * page, must print what `repy-http parse` prints for the llhttp corpus
 * cases. Keyboard use, 200 % zoom; screenshots go to artifacts/inspector/.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { registerCallback, stopCallback, boundAddress, type RequestDict } from '../src/index.js';
import { withInspector, type ExchangeRecord } from '../src/inspector/index.js';
import { messageRanges, RANGE_RULES } from '../src/parser/ranges.js';
import { main as cli } from '../src/cli.js';
import { Browser, type Page } from './helpers/cdp.js';
import { findBinary } from './helpers/peers-common.js';
import { rawExchange, responsesComplete } from './helpers/raw.js';
import { loadJsonl, strictCases, type LlhttpCase } from './helpers/corpus.js';

const exec = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ARTIFACTS = join(root, 'artifacts', 'inspector');
const chromium = findBinary(['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']);
const curl = findBinary(['curl']);
const skip = chromium === null ? 'Chromium is not installed; .ci/run installs it with apt-get install chromium' : curl === null ? 'curl is not installed' : false;

/** The parser and errors.ts compiled to plain ES modules, as the build makes them (the page imports these). */
function compileParser(): string {
  const out = mkdtempSync(join(tmpdir(), 'repy-http-parser-js-'));
  mkdirSync(join(out, 'parser'));
  const compile = (from: string, to: string): void => {
    const js = ts.transpileModule(readFileSync(from, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } }).outputText;
    writeFileSync(to, js);
  };
  for (const f of readdirSync(join(root, 'src', 'parser'))) if (f.endsWith('.ts')) compile(join(root, 'src', 'parser', f), join(out, 'parser', f.replace(/\.ts$/, '.js')));
  compile(join(root, 'src', 'errors.ts'), join(out, 'errors.js'));
  return out;
}

/** What the page shows for a byte (the page's render.js, restated). */
function shown(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b === 0x0d) s += '\\r';
    else if (b === 0x0a) s += '\\n\n';
    else if (b === 0x09) s += '\\t';
    else if (b < 0x20 || b >= 0x7f) s += `\\x${b.toString(16).padStart(2, '0')}`;
    else s += String.fromCharCode(b);
  }
  return s;
}

/** Bytes → the try-it box's escapes (\r \n \t \\ \xHH). */
function escaped(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    if (b === 0x0d) s += '\\r';
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x09) s += '\\t';
    else if (b === 0x5c) s += '\\\\';
    else if (b < 0x20 || b >= 0x7f) s += `\\x${b.toString(16).padStart(2, '0')}`;
    else s += String.fromCharCode(b);
  }
  return s;
}

type Span = [kind: string, start: number, end: number, text: string];

/** The spans of one bytes view of an article. */
const spansOf = (page: Page, selector: string): Promise<Span[]> =>
  page.evaluate<Span[]>(`[...document.querySelectorAll(${JSON.stringify(selector)} + ' > span.r')].map((s) => [s.dataset.kind, Number(s.dataset.start), Number(s.dataset.end), s.textContent])`);

const expectedSpans = (bytes: Uint8Array, kind: 'request' | 'response' = 'request'): Span[] =>
  messageRanges(bytes, { kind, maxBodySize: Infinity }).ranges.map((r) => [r.kind, r.start, r.end, shown(bytes, r.start, r.end)]);

/** Saves a PNG of the element matching `selector` (or the whole page). */
async function shot(page: Page, name: string, selector?: string, full = true): Promise<Buffer> {
  let png: Buffer;
  if (selector === undefined) png = await page.screenshot(full);
  else {
    const box = await page.evaluate<{ x: number; y: number; width: number; height: number }>(`(() => { const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect(); return { x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: Math.min(r.height, 2400) }; })()`);
    const r = (await page.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: { ...box, scale: 1 } })) as { data: string };
    png = Buffer.from(r.data, 'base64');
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, `${name}.png`), png);
  return png;
}

t.test('the inspector page in headless Chromium', { skip, timeout: 120_000 }, async (t) => {
  const parserDir = compileParser();
  t.teardown(() => rmSync(parserDir, { recursive: true, force: true }));
  const requested: string[] = [];
  const app = async (req: RequestDict) => {
    requested.push(req.path);
    const body = await req.datastream.read();
    return { statuscode: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, message: `${req.verb} ${req.path}: ${body.length} bytes\n` };
  };
  const insp = withInspector(app, { parserDir: join(parserDir, 'parser') });
  const id = await registerCallback(['127.0.0.1', 0], insp.callback, { onRaw: insp.onRaw, onError: null });
  const port = boundAddress(id)[1];
  const base = `http://127.0.0.1:${port}`;
  const browser = Browser.launch(chromium!);
  t.teardown(async () => {
    browser.close();
    insp.close();
    await stopCallback(id);
  });
  const pwned: string[] = [];
  const pageErrors: string[] = [];
  browser.on((m) => {
    if (m.method === 'Runtime.bindingCalled') pwned.push(String((m.params as { payload: string }).payload));
    if (m.method === 'Runtime.exceptionThrown') pageErrors.push(JSON.stringify(m.params).slice(0, 300));
  });
  const page = await browser.newPage();
  // A global the hostile payloads call if they ever run.
  await page.send('Runtime.addBinding', { name: 'pwned' });
  await page.viewport(1280, 900);
  await page.goto(`${base}/_inspect/`);
  await page.waitFor(`document.body.dataset.connected === 'yes'`);
  t.equal(await page.evaluate(`document.querySelectorAll('#legend li').length`), Object.keys(RANGE_RULES).length, 'the legend lists every kind of range');

  const record = (pred: (r: ExchangeRecord) => boolean): ExchangeRecord | undefined => insp.recorder.history.find(pred);
  const pathOf = (r: ExchangeRecord): string | undefined => (r.dict as { path?: string } | null)?.path;
  const shownOnPage = (r: ExchangeRecord): Promise<void> => page.waitFor(`document.querySelector('#ex-${r.id}[data-state="${r.state}"]')`);
  const waitRecord = async (pred: (r: ExchangeRecord) => boolean): Promise<ExchangeRecord> => {
    const until = Date.now() + 10_000;
    for (;;) {
      const r = record(pred);
      if (r !== undefined && r.state !== 'receiving' && r.state !== 'received') {
        await shownOnPage(r);
        return r;
      }
      if (Date.now() > until) throw new Error('no such record');
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const checkArticle = async (r: ExchangeRecord, what: string): Promise<void> => {
    t.same(await spansOf(page, `#ex-${r.id} pre.request-bytes`), expectedSpans(r.request.bytes), `${what}: the request's ranges and bytes on the page`);
    if (r.response !== null) t.same(await spansOf(page, `#ex-${r.id} pre.response-bytes`), expectedSpans(r.response.bytes, 'response'), `${what}: the response's ranges on the page`);
  };

  // 1. A first request, with curl.
  await exec(curl!, ['-s', '-o', '/dev/null', `${base}/hello?name=world`]);
  const first = await waitRecord((r) => pathOf(r) === '/hello');
  await checkArticle(first, 'curl GET');
  t.same(await page.evaluate(`[...document.querySelectorAll('#ex-${first.id} pre.request-bytes > span.k-method, #ex-${first.id} pre.request-bytes > span.k-target')].map((s) => s.textContent)`), ['GET', '/hello?name=world']);
  t.match(await page.evaluate<string>(`document.querySelector('#ex-${first.id} pre.dict').textContent`), /"querydict": \{\n\s+"name": "world"/, 'the request dictionary');
  await shot(page, 'first-request', `#ex-${first.id}`);

  // 2. Keep-alive: curl sends two requests over one connection.
  await exec(curl!, ['-s', '-o', '/dev/null', '-o', '/dev/null', `${base}/one`, `${base}/two`]);
  const one = await waitRecord((r) => pathOf(r) === '/one');
  const two = await waitRecord((r) => pathOf(r) === '/two');
  t.equal(one.connection, two.connection, 'keep-alive: one connection');
  t.same(await page.evaluate(`[${one.id}, ${two.id}].map((id) => document.getElementById('ex-' + id).dataset.sequence)`), ['1', '2'], 'request 1 and 2 on it');
  await checkArticle(two, 'keep-alive second request');
  await shot(page, 'keep-alive', `#ex-${two.id}`);

  // 3. A chunked upload, with curl (Transfer-Encoding: chunked from standard input).
  await new Promise<void>((done, fail) => {
    const c = execFile(curl!, ['-s', '-o', '/dev/null', '-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', `${base}/upload`], (e) => (e ? fail(e) : done()));
    c.stdin!.end('hello, chunked world\n');
  });
  const up = await waitRecord((r) => pathOf(r) === '/upload');
  await checkArticle(up, 'chunked upload');
  const kinds = await page.evaluate<string[]>(`[...document.querySelectorAll('#ex-${up.id} pre.request-bytes > span.r')].map((s) => s.dataset.kind)`);
  t.ok(kinds.includes('chunk-size') && kinds.includes('chunk-data') && kinds.includes('last-chunk'), 'chunk-size, chunk-data and last-chunk ranges');
  await shot(page, 'chunked-upload', `#ex-${up.id}`);

  // 4. Pipelined, over a raw socket: two requests in one write.
  const pipelined = 'GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\nX-Tab:\tvalue with caf\xe9\r\n\r\n';
  await rawExchange(port, pipelined, { timeoutMs: 3000, until: responsesComplete(2) });
  const p1 = await waitRecord((r) => pathOf(r) === '/p1');
  const p2 = await waitRecord((r) => pathOf(r) === '/p2');
  t.equal(p1.connection, p2.connection);
  t.equal(Buffer.from(p2.request.bytes).toString('latin1'), pipelined.slice(pipelined.indexOf('GET /p2')), 'split where the first request ends');
  await checkArticle(p1, 'pipelined 1');
  await checkArticle(p2, 'pipelined 2');
  t.same(await page.evaluate(`[...document.querySelectorAll('#ex-${p2.id} pre.request-bytes .ctl')].map((s) => s.dataset.byte + ':' + s.textContent).filter((x, i, a) => a.indexOf(x) === i)`), ['CR:\\r', 'LF:\\n', 'HTAB:\\t', 'non-ASCII:\\xe9'], 'CR, LF, HTAB and non-ASCII made visible');

  // 5. A smuggling attempt, refused: Content-Length and Transfer-Encoding together.
  const smuggle = 'POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n';
  await rawExchange(port, smuggle, { timeoutMs: 3000 });
  const refused = await waitRecord((r) => r.state === 'rejected' && Buffer.from(r.request.bytes).toString('latin1') === smuggle);
  await checkArticle(refused, 'smuggling attempt');
  const err = refused.request.outcome!.error!;
  t.same(await page.evaluate(`(() => { const b = document.querySelector('#ex-${refused.id} .error-box'); const e = document.querySelector('#ex-${refused.id} pre.request-bytes > span.k-error'); return [b.dataset.code, b.dataset.status, b.dataset.offset, e.dataset.start, e.textContent]; })()`),
    ['TE_WITH_CONTENT_LENGTH', '400', String(err.offset), String(err.offset), shown(refused.request.bytes, err.offset, err.offset + 1)], 'the offending byte, the code, the status and the offset');
  t.match(await page.evaluate<string>(`document.querySelector('#ex-${refused.id} .error-box').textContent`), /Rule: Transfer-Encoding and Content-Length together: a request smuggling vector.*RFC 9112 §6\.1/, 'the rule it broke');
  t.match(await page.evaluate<string>(`document.querySelector('#ex-${refused.id} pre.response-bytes').textContent`), /^HTTP\/1\.1 400 Bad Request/, 'the 400 that went back');
  t.notOk(requested.includes('/admin'), 'the smuggled request never reached the callback');
  await shot(page, 'smuggling-refused', `#ex-${refused.id}`);
  // The overview (README): the refused request in view, its offending byte focused, the panel saying what it is.
  await page.evaluate(`(() => { const e = document.querySelector('#ex-${refused.id} pre.request-bytes > span.k-error'); e.focus(); document.getElementById('ex-${refused.id}').scrollIntoView(); scrollBy(0, -120); })()`);
  t.match(await page.evaluate<string>(`document.getElementById('detail').textContent`), new RegExp(`^rejected: TE_WITH_CONTENT_LENGTH · byte ${err.offset} .*both Transfer-Encoding and Content-Length · Transfer-Encoding and Content-Length together: a request smuggling vector.*RFC 9112 §6\.1`), 'focusing the offending byte says what it broke');
  await shot(page, 'inspector', undefined, false);

  // 6. Hostile bytes: markup, handlers and javascript: URLs must stay text.
  const EVIL_BODY = `<svg onload="pwned('svg')"><script>pwned('body')</script>`;
  const hostile = [
    `GET /<script>pwned('script');fetch('/pwned-script')</script> HTTP/1.1\r\nHost: a\r\n\r\n`,
    `GET /?u=javascript:pwned('js') HTTP/1.1\r\nHost: a\r\nX-Evil: "><img src=x onerror="pwned('img');fetch('/pwned-img')">\r\nReferer: javascript:pwned('ref')\r\nContent-Length: ${EVIL_BODY.length}\r\n\r\n${EVIL_BODY}`,
  ];
  for (const h of hostile) await rawExchange(port, h, { timeoutMs: 1000 });
  await waitRecord((r) => (r.dict as { headers?: Record<string, string> } | null)?.headers?.['X-Evil'] !== undefined);
  await waitRecord((r) => Buffer.from(r.request.bytes).toString('latin1').startsWith('GET /<script>pwned'));
  const checkHostile = async (when: string): Promise<void> => {
    await new Promise((r) => setTimeout(r, 300)); // time for an image error or a fetch, were there any
    t.same(pwned, [], `${when}: no payload ran (the binding was never called)`);
    t.same(requested.filter((p) => p.startsWith('/pwned')), [], `${when}: no payload made a request`);
    t.equal(await page.evaluate(`document.querySelectorAll('#feed img, #feed script, #feed svg, #feed a, #feed iframe').length`), 0, `${when}: no element came from request bytes`);
    t.ok(await page.evaluate<boolean>(`[...document.querySelectorAll('#feed pre')].some((p) => p.textContent.includes('"><img src=x onerror="pwned'))`), `${when}: the payload is shown as text`);
  };
  await checkHostile('CSP on');
  await shot(page, 'hostile');
  // Again with the CSP bypassed: what keeps the payloads inert is textContent, not only the policy.
  await page.send('Page.setBypassCSP', { enabled: true });
  await page.goto(`${base}/_inspect/`);
  await page.waitFor(`document.querySelectorAll('#feed article').length >= ${insp.recorder.history.length}`);
  await checkHostile('CSP bypassed');

  // 7. The try-it box gives what `repy-http parse` gives, for the llhttp corpus cases.
  const corpus = loadJsonl<LlhttpCase>('llhttp-requests.jsonl');
  if (corpus === null) t.comment('llhttp-requests.jsonl not found in ../shared/conformance: the corpus comparison is skipped');
  const cases = corpus === null
    ? [{ id: 'local', raw_base64: Buffer.from(smuggle, 'latin1').toString('base64') }]
    : strictCases(corpus).map((c) => ({ id: c.id, raw_base64: c.raw_base64 }));
  const inputs = cases.map((c, i) => ({ id: c.id, text: escaped(Buffer.from(c.raw_base64, 'base64')), split: (i % 9) + 1 }));
  const pageResults = await page.evaluate<string[]>(`(async () => {
    const inputs = ${JSON.stringify(inputs)};
    const out = document.getElementById('tryit-out');
    const results = [];
    for (const c of inputs) {
      document.getElementById('tryit-input').value = c.text;
      document.getElementById('tryit-split').value = String(c.split);
      const before = Number(out.dataset.done || 0);
      document.querySelector('#tryit button[type=submit]').click();
      for (let k = 0; Number(out.dataset.done || 0) === before; k++) {
        if (k > 400) throw new Error('try-it did not answer for ' + c.id + ': ' + out.textContent);
        await new Promise((r) => setTimeout(r, 5));
      }
      results.push(document.getElementById('tryit-json').textContent);
    }
    return results;
  })()`);
  const SUBSET = ['verb', 'path', 'querystr', 'version', 'rawheaders', 'body', 'body_base64', 'bodyLength', 'trailers', 'keepAlive', 'upgrade', 'expectContinue', 'complete'];
  const pick = (j: { messages: Array<Record<string, unknown>> } & Record<string, unknown>): unknown => ({
    ...j,
    messages: j.messages.map((m) => Object.fromEntries(SUBSET.filter((k) => k in m).map((k) => [k, m[k]]))),
  });
  const differ: string[] = [];
  for (const [i, c] of inputs.entries()) {
    const lines: string[] = [];
    cli(['parse', '--split', String(c.split), '-'], (l) => lines.push(l), () => Buffer.from(cases[i]!.raw_base64, 'base64'));
    const json = lines.find((l) => l.startsWith('{'))!;
    const a = JSON.stringify(pick(JSON.parse(json)));
    const b = JSON.stringify(pick(JSON.parse(pageResults[i]!)));
    if (a !== b) differ.push(`${c.id}: cli ${a.slice(0, 300)} page ${b.slice(0, 300)}`);
  }
  t.same(differ, [], `the try-it box agrees with repy-http parse on ${inputs.length} cases (fed 1 to 9 bytes at a time)`);

  // The steps of the try-it box, on a chunked upload fed 8 bytes at a time.
  await page.evaluate(`document.getElementById('tryit-input').value = 'POST /upload HTTP/1.1\\\\r\\\\nHost: example.com\\\\r\\\\nTransfer-Encoding: chunked\\\\r\\\\n\\\\r\\\\n5\\\\r\\\\nhello\\\\r\\\\n0\\\\r\\\\n\\\\r\\\\n'; document.getElementById('tryit-split').value = '8'`);
  // Keyboard: Enter on the Parse button runs it; Next piece moves through the steps.
  const done = Number(await page.evaluate(`document.getElementById('tryit-out').dataset.done`));
  await page.evaluate(`document.querySelector('#tryit button[type=submit]').focus()`);
  await page.press('Enter');
  await page.waitFor(`Number(document.getElementById('tryit-out').dataset.done) === ${done + 1}`);
  t.equal(await page.evaluate(`document.querySelectorAll('#tryit-steps > li').length`), 11, '87 bytes fed 8 at a time: 11 steps');
  await page.evaluate(`document.getElementById('tryit-next').focus()`);
  for (let k = 0; k < 8; k++) await page.press('Enter');
  t.match(await page.evaluate<string>(`document.getElementById('tryit-position').textContent`), /^step 9 of 11: 72 byte\(s\) fed · state chunk-size line/, 'stepped with the keyboard to the chunk-size line');
  t.match(await page.evaluate<string>(`document.querySelector('#tryit-steps > li[aria-current=step]').textContent`), /head: POST \/upload HTTP\/1\.1/, 'the step where the head completed');
  t.equal(await page.evaluate(`document.querySelectorAll('#tryit-bytes span.fed').length`), await page.evaluate(`[...document.querySelectorAll('#tryit-bytes span.r')].filter((s) => Number(s.dataset.start) < 72).length`), 'the bytes fed so far are marked');
  await shot(page, 'try-it', '#tryit-section');

  // Keyboard on the ranges: Tab moves from one range to the next, and the panel says what it is.
  await page.evaluate(`document.querySelector('#ex-${first.id} pre.request-bytes > span.r').focus()`);
  await page.press('Tab');
  const focused = await page.evaluate<[string, string, string]>(`[document.activeElement.dataset.kind, document.activeElement.dataset.start, document.getElementById('detail').textContent]`);
  t.same(focused.slice(0, 2), ['sp', '3'], 'Tab: the next range (the SP after GET) has the focus');
  t.match(focused[2], /byte 3 .*SP .*RFC 9112 §3/, 'the panel shows its offset and RFC 9112 rule');
  t.equal(await page.evaluate(`document.querySelectorAll('#feed span.r:not([title])').length`), 0, 'every range has a label (title and aria-label), not only a colour');

  // 200 % zoom: a 1280 px window at 200 % is 640 CSS px wide; nothing needs horizontal scrolling.
  await page.viewport(640, 900, 2);
  await new Promise((r) => setTimeout(r, 200));
  const widths = await page.evaluate<[number, number]>(`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`);
  t.ok(widths[0] <= widths[1], `at 200 % zoom the page reflows (scrollWidth ${widths[0]} ≤ ${widths[1]})`);
  await page.evaluate(`document.getElementById('feed').scrollIntoView()`);
  await shot(page, 'zoom-200', undefined, false);
  await page.viewport(1280, 900, 1);
  await page.evaluate(`scrollTo(0, 0)`);
  await shot(page, 'page');
  t.same(pageErrors, [], 'no script error on the page');
});
