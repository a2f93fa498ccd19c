/**
 * Headless Chromium loads a page with twelve sub-resources (two style
 * sheets, two scripts, eight images) from the server: a browser fetches
 * them in parallel over at most six kept-alive connections per host, sends
 * the fields browsers send (Accept, Sec-Fetch-*, User-Agent, ...) and
 * drops a connection it cannot make sense of. The test checks that every
 * sub-resource was requested and arrived (the scripts ran, the styles
 * applied, the images decoded: all visible in the DOM Chromium dumps), and
 * that they came over few connections (≤ 6 for 13 requests: reused).
 */
import t from 'tap';
import { chromiumDumpDom, connectionsOf, findBinary, loggingServer, sleep } from './helpers/peers-common.js';

const chromium = findBinary(['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']);
const skip = chromium === null
  ? 'Chromium is not installed (chromium, chromium-browser, google-chrome); .ci/run installs it with apt-get install chromium'
  : false;

const IMAGES = Array.from({ length: 8 }, (_, i) => `/img/${i}.svg`);
const SUB = ['/a.css', '/b.css', '/one.js', '/two.js', ...IMAGES];

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>before</title>
<link rel="stylesheet" href="/a.css">
<link rel="stylesheet" href="/b.css">
<script src="/one.js"></script>
<script src="/two.js"></script>
</head><body>
${IMAGES.map((src, i) => `<img id="img${i}" src="${src}" width="10" height="10" onload="this.setAttribute('data-loaded', String(this.naturalWidth))">`).join('\n')}
</body></html>
`;

const FILES: Record<string, { type: string; body: string }> = {
  '/a.css': { type: 'text/css', body: ':root { --from-a: yes-a; }\n' },
  '/b.css': { type: 'text/css', body: ':root { --from-b: yes-b; }\n' },
  '/one.js': { type: 'text/javascript', body: 'window.one = "one-ran";\n' },
  // two.js runs after both style sheets applied (a script waits for the sheets before it).
  '/two.js': {
    type: 'text/javascript',
    body: `
const s = getComputedStyle(document.documentElement);
document.title = 'ran ' + window.one + ' ' + s.getPropertyValue('--from-a').trim() + ' ' + s.getPropertyValue('--from-b').trim();
document.addEventListener('DOMContentLoaded', () => {
  const p = document.createElement('p');
  p.id = 'appended';
  p.textContent = 'appended by two.js';
  document.body.appendChild(p);
});
`,
  },
};
for (const [i, src] of IMAGES.entries()) {
  FILES[src] = {
    type: 'image/svg+xml',
    body: `<svg xmlns="http://www.w3.org/2000/svg" width="${20 + i}" height="20"><rect width="${20 + i}" height="20" fill="#${(i * 30).toString(16).padStart(2, '0')}8040"/></svg>\n`,
  };
}

t.test('headless Chromium loads a page and its sub-resources', { skip, timeout: 45_000 }, async (t) => {
  const srv = await loggingServer(t, async (req) => {
    if (req.path === '/') {
      return { statuscode: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }, message: PAGE };
    }
    const f = FILES[req.path];
    if (f === undefined) return { statuscode: 404, headers: { 'Content-Type': 'text/plain' }, message: 'not found\n' };
    // A little latency, so that the browser has several requests in flight.
    await sleep(10);
    return { statuscode: 200, headers: { 'Content-Type': f.type, 'Cache-Control': 'no-store' }, message: f.body };
  });
  const r = await chromiumDumpDom(chromium!, `http://127.0.0.1:${srv.port}/`, { timeoutMs: 30_000 });
  t.ok(!r.timedOut, `Chromium finished within 30 s (${(r.ms / 1000).toFixed(1)} s)`);
  t.equal(r.code, 0, `Chromium exited 0 ${r.code === 0 ? '' : r.stderr.slice(-2000)}`);
  const dom = r.stdout;

  const paths = srv.log.map((e) => e.path);
  t.equal(paths[0], '/', 'the page was requested first');
  for (const p of SUB) t.ok(paths.includes(p), `${p} was requested`);
  const wanted = srv.log.filter((e) => e.path === '/' || SUB.includes(e.path));
  t.equal(wanted.length, 1 + SUB.length, `each of the ${1 + SUB.length} resources once (${paths.length} requests in all: ${paths.join(' ')})`);
  const conns = connectionsOf(srv.log);
  t.ok(conns <= 6, `${srv.log.length} requests over ${conns} connections (≤ 6: kept alive and reused)`);
  t.ok(srv.log.every((e) => e.version === '1.1' && e.verb === 'GET'), 'all GET over HTTP/1.1');
  t.match(srv.log[0]?.headers['User-Agent'] ?? '', /Chrome/, 'a Chrome User-Agent');

  t.match(dom, /<title>ran one-ran yes-a yes-b<\/title>/, 'the scripts ran in order, after both style sheets applied (document.title)');
  t.match(dom, /<p id="appended">appended by two\.js<\/p>/, 'the DOMContentLoaded handler of two.js appended an element');
  for (let i = 0; i < IMAGES.length; i++) {
    t.match(dom, new RegExp(`<img id="img${i}"[^>]*data-loaded="${20 + i}"`), `image ${i} loaded and decoded (naturalWidth ${20 + i})`);
  }
  t.same(srv.errors, [], 'onError was never called');
  t.comment(`Chromium: ${srv.log.length} requests over ${conns} connections in ${(r.ms / 1000).toFixed(1)} s`);
});
