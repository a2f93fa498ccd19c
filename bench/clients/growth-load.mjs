// Load client of the "how cost grows" benchmark (bench/growth.mjs): keeps N
// keep-alive connections, each writing one fixed buffer of `depth` pipelined
// requests and writing it again once all `depth` responses are in. A raw
// socket client rather than wrk, so that the benchmark can open 10 000
// connections first and then count the responses inside a measured window
// only (wrk counts its own start-up and connects in its totals).
//
//   node bench/clients/growth-load.mjs <port>
//
// Commands on stdin, one JSON value per line; each answer is one JSON line:
//   {"open":{"connections":N,"headers":K,"post":bool,"body":B,"depth":D,"parallel":P}}
//        → opens the connections (at most P connecting at once), then starts
//          every loop; answers {"opened":N,"failed":N,"ms":N}
//   "mark"  → {"mark":{"responses":N,"errors":N,"t":ms}} (t: the wall clock in ms,
//             performance.timeOrigin + performance.now(), comparable across processes)
//   "close" → destroys every connection; answers {"closed":N}
// It exits when stdin ends.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const port = Number(process.argv[2]);
const HOST = `127.0.0.1:${port}`;

/**
 * One request with `headers` header fields in all (Host is the first; the
 * others are ~29 bytes each, `X-Growth-07: abcdefghijklmn`): a GET, or with
 * `post` a POST with a Content-Length body of `body` bytes (0 too).
 */
function buildRequest(headers, post, body) {
  const lines = [post ? 'POST / HTTP/1.1' : 'GET / HTTP/1.1', `Host: ${HOST}`];
  if (post) lines.push(`Content-Length: ${body}`);
  for (let i = lines.length - 1; i < headers; i++) lines.push(`X-Growth-${String(i).padStart(2, '0')}: abcdefghijklmn`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body > 0 ? Buffer.concat([head, Buffer.alloc(body, 0x78)]) : head;
}

let sockets = [];
let responses = 0;
/** Responses other than 200, socket errors, and connections the server closed. */
let errors = 0;
/** Sockets this client destroyed (their 'close', which comes a tick later, is no error). */
const closedHere = new WeakSet();

/**
 * Counts the responses on one connection: each is a head up to CRLF CRLF
 * with a Content-Length, then that many body bytes. Calls `done()` after
 * every `depth` responses.
 */
function responseCounter(depth, done) {
  let carry = '';
  let bodyLeft = 0;
  let got = 0;
  return (chunk) => {
    const s = carry.length === 0 ? chunk.latin1Slice(0, chunk.length) : carry + chunk.latin1Slice(0, chunk.length);
    let pos = 0;
    for (;;) {
      if (bodyLeft > 0) {
        const take = Math.min(bodyLeft, s.length - pos);
        pos += take;
        bodyLeft -= take;
        if (bodyLeft > 0) break;
      } else {
        const end = s.indexOf('\r\n\r\n', pos);
        if (end === -1) break;
        if (!s.startsWith('HTTP/1.1 200', pos)) errors++;
        // repy-http writes the name as Content-Length; any other spelling takes the slower path.
        let at = s.indexOf('\r\nContent-Length:', pos);
        if (at !== -1 && at < end) bodyLeft = Number.parseInt(s.slice(at + 17, end), 10);
        else {
          const head = s.slice(pos, end).toLowerCase();
          at = head.indexOf('\r\ncontent-length:');
          bodyLeft = at === -1 ? 0 : Number.parseInt(head.slice(at + 17), 10);
        }
        pos = end + 4;
        if (bodyLeft > 0) continue;
      }
      responses++;
      if (++got === depth) {
        got = 0;
        done();
      }
    }
    carry = pos < s.length ? s.slice(pos) : '';
  };
}

function openOne(request, depth) {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true });
    s.once('error', () => {
      s.destroy();
      resolve(null);
    });
    s.once('connect', () => {
      s.removeAllListeners('error');
      s.on('error', () => {
        errors++;
      });
      s.on('close', () => {
        if (!closedHere.has(s)) errors++;
      });
      s.on('data', responseCounter(depth, () => s.write(request)));
      resolve(s);
    });
  });
}

async function open({ connections, headers = 1, post = false, body = 0, depth = 1, parallel = 256 }) {
  const one = buildRequest(headers, post, body);
  const request = depth === 1 ? one : Buffer.concat(Array(depth).fill(one));
  const start = performance.now();
  let next = 0;
  let failed = 0;
  const opened = [];
  await Promise.all(Array.from({ length: Math.min(parallel, connections) }, async () => {
    while (next < connections) {
      next++;
      const s = await openOne(request, depth);
      if (s === null) failed++;
      else opened.push(s);
    }
  }));
  sockets = opened;
  for (const s of sockets) s.write(request);
  return { opened: sockets.length, failed, ms: performance.now() - start };
}

const say = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch {
    return;
  }
  if (cmd === 'mark') say({ mark: { responses, errors, t: performance.timeOrigin + performance.now() } });
  else if (cmd === 'close') {
    const n = sockets.length;
    for (const s of sockets) {
      closedHere.add(s);
      s.destroy();
    }
    sockets = [];
    say({ closed: n });
  } else if (cmd !== null && typeof cmd === 'object' && cmd.open !== undefined) {
    open(cmd.open).then(say, (err) => say({ error: String(err) }));
  }
});
rl.on('close', () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
});
