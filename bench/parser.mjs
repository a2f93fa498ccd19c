// Benchmark 3: the parser alone, in one process, no sockets: RequestParser
// (push, then next() until `partial`) against Node's own llhttp binding
// (the HTTPParser behind node:http, with the callbacks node:http sets).
// Both parse the same buffer over and over as one keep-alive connection
// would; requests and input MB (10^6 bytes) per second of CPU time, per case, alternating
// ours / llhttp round by round after a warm-up. The ratio with the target
// is the median of the per-round ratios: this machine's speed moves by a
// third from one half-second to the next, and many short paired rounds
// cancel that drift where a ratio of two medians does not (both printed).
//
// Run alone: node bench/parser.mjs [--smoke]   (the runner pins it to the server core)
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RequestParser } from '../dist/index.js';
import { fmt, median, printRatios, printTable, ratio, summarize, writeResult } from './lib.mjs';

const require = createRequire(import.meta.url);
const { HTTPParser, methods } = require('_http_common');

const crlf = (lines) => Buffer.from(lines.join('\r\n'), 'latin1');

const BROWSER_GET = crlf([
  'GET /articles/2024/http-parsing?utm_source=newsletter&page=2 HTTP/1.1',
  'Host: www.example.com',
  'Connection: keep-alive',
  'Cache-Control: max-age=0',
  'Upgrade-Insecure-Requests: 1',
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'Sec-Fetch-Site: same-origin',
  'Sec-Fetch-Mode: navigate',
  'Referer: https://www.example.com/articles/2024/',
  'Accept-Encoding: gzip, deflate, br, zstd',
  'Accept-Language: en-US,en;q=0.9,fr;q=0.8',
  'Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; _ga=GA1.2.1234567890.1700000000',
  '',
  '',
]);

const JSON_BODY = '{"user":"alice","action":"update","items":[1,2,3,5,8,13],"note":"small form post"}';
const SMALL_POST = crlf([
  'POST /api/v1/items HTTP/1.1',
  'Host: api.example.com',
  'User-Agent: curl/8.5.0',
  'Accept: application/json',
  'Content-Type: application/json',
  `Content-Length: ${JSON_BODY.length}`,
  '',
  JSON_BODY,
]);

const chunks = ['{"batch":[', '"a","b","c",'.repeat(8), '"z"]}'];
const CHUNKED_POST = crlf([
  'POST /upload/batch HTTP/1.1',
  'Host: api.example.com',
  'User-Agent: node',
  'Content-Type: application/json',
  'Transfer-Encoding: chunked',
  '',
  ...chunks.flatMap((c) => [c.length.toString(16), c]),
  '0',
  '',
  '',
]);

const SHORT_GET = (i) => crlf([`GET /static/asset-${i}.js HTTP/1.1`, 'Host: www.example.com', 'Accept: */*', 'Accept-Encoding: gzip', '', '']);
const PIPELINED = Buffer.concat(Array.from({ length: 16 }, (_, i) => SHORT_GET(i)));

export const CASES = [
  { key: 'browser-get', label: 'browser GET, 12 headers', buf: BROWSER_GET, requests: 1, target: 1.0 },
  { key: 'small-post', label: 'POST, Content-Length 84', buf: SMALL_POST, requests: 1, target: null },
  { key: 'chunked-post', label: 'POST, chunked, 3 chunks', buf: CHUNKED_POST, requests: 1, target: null },
  { key: 'pipelined-16', label: '16 pipelined GETs', buf: PIPELINED, requests: 16, target: null },
];

// Results land here so that no work can be optimised away.
let sink = 0;

/** One keep-alive connection's parser fed `buf` repeatedly: returns a function parsing it once. */
function oursFor(buf, requests) {
  const p = new RequestParser();
  return () => {
    p.push(buf);
    let ends = 0;
    for (;;) {
      const ev = p.next();
      if (ev.type === 'partial') break;
      if (ev.type === 'head') sink += ev.head.rawHeaders.length;
      else if (ev.type === 'data') sink += ev.data.length;
      else if (ev.type === 'end') ends++;
      else throw ev.error;
    }
    if (ends !== requests) throw new Error(`ours: ${ends} messages, expected ${requests}`);
  };
}

function llhttpFor(buf, requests) {
  const p = new HTTPParser();
  p.initialize(HTTPParser.REQUEST, {});
  let ends = 0;
  // What node:http's parserOnHeadersComplete receives: flat [name, value, ...], method index, url.
  p[HTTPParser.kOnHeadersComplete] = (major, minor, headers, method, url) => {
    sink += headers.length + url.length + methods[method].length;
  };
  p[HTTPParser.kOnBody] = (b) => {
    sink += b.length;
  };
  p[HTTPParser.kOnMessageComplete] = () => {
    ends++;
  };
  return () => {
    ends = 0;
    const r = p.execute(buf);
    if (typeof r !== 'number') throw r;
    if (ends !== requests) throw new Error(`llhttp: ${ends} messages, expected ${requests}`);
  };
}

/**
 * Runs `fn` for about `ms` milliseconds of wall time. Returns calls per
 * second of CPU time (`cpu`: the process's user + system time, so time spent
 * descheduled by other load on the machine does not count) and of wall time.
 */
function timed(fn, ms) {
  let calls = 0;
  let batch = 64;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    now = performance.now();
    if (now - start < ms / 20) batch *= 2;
  }
  const c = process.cpuUsage(cpu0);
  return { cpu: (calls * 1e6) / Math.max(1, c.user + c.system), wall: (calls * 1000) / (now - start) };
}

const PARSERS = [
  { key: 'ours', label: 'repy-http', make: oursFor },
  { key: 'llhttp', label: 'llhttp', make: llhttpFor },
];

/**
 * @param {object} p
 * @param {number} p.roundMs length of one round
 * @param {number} p.warmupMs per contender and case
 * @param {number} p.rounds
 * @param {string} [p.only] 'ours' or 'llhttp': run that parser alone (for profiling; no ratios)
 * @param {string} [p.cases] comma-separated case keys to run (default: all)
 */
export function runParser({ roundMs, warmupMs, rounds, only, cases }) {
  const title = 'Parser alone: RequestParser vs llhttp (node:http\'s binding)';
  const parsers = PARSERS.filter((p) => only === undefined || p.key === only);
  const picked = CASES.filter((c) => cases === undefined || cases.split(',').includes(c.key));
  console.log(`\n## ${title}`);
  console.log(`${rounds} rounds of ${roundMs} ms per contender and case, alternating, after ${warmupMs} ms warm-up each; the same buffer parsed over and over on one parser; rates per second of CPU time; the target is the median of the per-round ratios`);
  const results = {};
  const ratios = [];
  const rows = [];
  for (const c of picked) {
    const fns = parsers.map((p) => p.make(c.buf, c.requests));
    for (const fn of fns) timed(fn, warmupMs);
    const runs = parsers.map(() => []);
    const walls = parsers.map(() => []);
    for (let r = 0; r < rounds; r++) {
      fns.forEach((fn, i) => {
        const t = timed(fn, roundMs);
        runs[i].push(t.cpu * c.requests);
        walls[i].push(t.wall * c.requests);
      });
    }
    const mb = (rps) => ((rps / c.requests) * c.buf.length) / 1e6;
    results[c.key] = { label: c.label, bytes: c.buf.length, requestsPerBuffer: c.requests };
    parsers.forEach((p, i) => {
      const st = summarize(runs[i]);
      results[c.key][p.key] = { rps: st, mbps: mb(st.median), rpsWall: summarize(walls[i]) };
      rows.push([i === 0 ? `${c.label} (${c.buf.length} B)` : '', p.label, fmt(st.median), fmt(st.min), fmt(st.max), fmt(mb(st.median), 1)]);
    });
    if (parsers.length === 2) {
      const paired = median(runs[0].map((x, r) => x / runs[1][r]));
      results[c.key].pairedRatio = paired;
      ratios.push(ratio(`${c.key}: repy-http / llhttp, paired rounds`, paired, c.target));
      ratios.push(ratio(`${c.key}: repy-http / llhttp, of medians`, results[c.key].ours.rps.median / results[c.key].llhttp.rps.median, null));
    }
  }
  printTable(['case', 'parser', 'median req/s', 'min', 'max', 'MB/s'], rows);
  if (ratios.length > 0) {
    console.log('');
    printRatios(ratios);
  }
  const file = writeResult(only !== undefined || cases !== undefined ? 'parser-partial' : 'parser', { title, config: { roundMs, warmupMs, rounds, only, cases }, cases: results, ratios, sink: sink > 0 });
  console.log(`→ ${file}`);
  return { name: 'parser', title, ratios };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `--child <json config>`: run by bench/run.mjs, which reads the last line.
  // Else: [--smoke] [--only ours|llhttp] [--cases browser-get,...]
  const argv = process.argv;
  const arg = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const child = arg('--child');
  const config = child !== undefined ? JSON.parse(child)
    : argv.includes('--smoke') ? { roundMs: 100, warmupMs: 100, rounds: 1 } : { roundMs: 100, warmupMs: 1000, rounds: 35 };
  config.only ??= arg('--only');
  config.cases ??= arg('--cases');
  const summary = runParser(config);
  if (child !== undefined) process.stdout.write(`${JSON.stringify({ summary })}\n`);
}
