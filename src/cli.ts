#!/usr/bin/env node
/**
 * The `repy-http` command line. `repy-http parse [FILE|-]` shows how the
 * strict parser reads raw HTTP bytes: every message as JSON, or the error
 * `{code, status, offset, reason}`; `--trace` prints each step with its byte
 * offset; `--split N` feeds N bytes at a time. `repy-http serve [DIR |
 * MODULE.mjs]` serves a directory (`serveStatic`) or a module's default
 * export (a callback), with an access log, until SIGINT or SIGTERM.
 * `repy-http inspect [DIR | MODULE.mjs]` does the same (by default with a
 * callback that echoes what it received) with the inspector page at
 * `/_inspect/` (docs/inspector.md).
 *
 * @example
 * printf 'GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n' | repy-http parse --trace -
 * repy-http serve ./public --port 8080
 * repy-http inspect --port 8080   # then open http://127.0.0.1:8080/_inspect/
 *
 * @module
 */

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { registerCallback, stopCallback, boundAddress, type Callback } from './server/server.js';
import { serveStatic } from './static/index.js';
import { withInspector } from './inspector/index.js';
import type { RequestDict } from './server/request.js';
import { serveCluster } from './cluster/index.js';
import { parseMessages, type ParsedMessage } from './parser/inspect.js';
import type { RequestHead, ResponseHead } from './parser/parser.js';
import { headersObject } from './message/headers.js';
import { parseQuery } from './message/url.js';

const USAGE = `usage: repy-http parse [options] [FILE|-]
       repy-http serve [DIR | MODULE.mjs] [--host H] [--port P] [--workers N] [--no-log]
       repy-http inspect [DIR | MODULE.mjs] [--host H] [--port P] [--no-log]
       repy-http --version

serve: serves the files of DIR (default: the current directory), or the
callback that MODULE.mjs (or .js) exports as default, on http://H:P/
(default 127.0.0.1:8000), with an access log on stdout (--no-log: none),
until SIGINT or SIGTERM. --workers N: N processes share the port
(node:cluster); a crashed one is restarted, SIGHUP restarts them one at a
time without refusing a connection (docs/cluster.md).

inspect: the same, with a live page at http://H:P/_inspect/ that shows each
request's bytes, what the parser made of each byte, the request dictionary
and the response. Without DIR or MODULE, every request is answered with a
short echo of what was received. Everything a request carries is shown to
whoever opens the page: keep the default host (127.0.0.1).

parse:

Parses raw HTTP/1.x bytes (from FILE, or standard input) with the strict
parser and prints every message as JSON, or the error {code, status, offset,
reason}. Exit status: 0 parsed, 1 rejected or incomplete, 2 usage error.

options:
  --response        parse responses instead of requests
  --head            responses answer a HEAD request (no content)
  --split N         feed N bytes at a time (the answer must not change)
  --trace           print each parse step with its byte offset first
  --eof             the input ends the connection (a cut message is an error)
  --allow-bare-lf   leniency: accept LF alone as a line ending
  --no-require-host leniency: accept HTTP/1.1 requests without Host
  -e STRING         parse STRING instead of a file, with the escapes
                    \\r (CR) \\n (LF) \\t (HTAB) \\0 (NUL) \\\\ (backslash) \\xHH (byte HH)
  -h, --help        this text
  -V, --version     the version of repy-http
`;

/** The package's version, from the package.json beside src/ or dist/. */
function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    /* c8 ignore next */
    return 'unknown';
  }
}

/** Turns `\r\n`-style escapes into bytes (one char per byte). */
export function unescape(s: string): Buffer {
  return Buffer.from(
    s.replace(/\\(x[0-9a-fA-F]{2}|r|n|t|0|\\)/g, (_, e: string) =>
      e[0] === 'x' ? String.fromCharCode(parseInt(e.slice(1), 16)) : ({ r: '\r', n: '\n', t: '\t', '0': '\0', '\\': '\\' } as Record<string, string>)[e]!,
    ),
    'latin1',
  );
}

function bodyField(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  return Buffer.from(text, 'utf8').equals(body) ? { body: text, bodyLength: body.length } : { body_base64: body.toString('base64'), bodyLength: body.length };
}

/** The JSON shape of one message: the request dictionary's fields (or the response's). */
export function messageJson(m: ParsedMessage): Record<string, unknown> {
  if ('method' in m.head) {
    const h = m.head as RequestHead;
    const q = h.target.indexOf('?');
    const querystr = q === -1 ? null : h.target.slice(q + 1);
    return {
      verb: h.method,
      path: q === -1 ? h.target : h.target.slice(0, q),
      querystr,
      querydict: querystr === null ? null : parseQuery(querystr),
      version: h.version,
      headers: headersObject(h.rawHeaders),
      rawheaders: h.rawHeaders,
      ...bodyField(m.body),
      trailers: m.trailers,
      keepAlive: h.keepAlive,
      ...(h.upgrade ? { upgrade: true } : {}),
      ...(h.expectContinue ? { expectContinue: true } : {}),
      complete: m.complete,
    };
  }
  const h = m.head as ResponseHead;
  return {
    version: h.version,
    statuscode: h.status,
    statusmsg: h.reason,
    headers: headersObject(h.rawHeaders),
    rawheaders: h.rawHeaders,
    ...bodyField(m.body),
    trailers: m.trailers,
    keepAlive: h.keepAlive,
    complete: m.complete,
  };
}

const show = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** Runs the CLI; returns the exit status. `out` receives stdout lines. */
export function main(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), stdin: () => Buffer = () => readFileSync(0)): number {
  const [command, ...rest] = argv;
  if (command === '-V' || command === '--version') {
    out(`repy-http ${version()}`);
    return 0;
  }
  if (command === '-h' || command === '--help' || command === undefined) {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'serve' || command === 'inspect') {
    out(`${command} runs only as the repy-http command (or call ${command}(args) and await it)`);
    return 2;
  }
  if (command !== 'parse') {
    out(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  let input: Buffer | null = null;
  let split: number | undefined;
  let trace = false;
  let response = false;
  let head = false;
  let eof = false;
  let allowBareLF = false;
  let requireHost = true;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--response') response = true;
    else if (a === '--head') head = true;
    else if (a === '--trace') trace = true;
    else if (a === '--eof') eof = true;
    else if (a === '--allow-bare-lf') allowBareLF = true;
    else if (a === '--no-require-host') requireHost = false;
    else if (a === '--split') {
      split = Number(rest[++i]);
      if (!Number.isInteger(split) || split < 1) {
        out('--split needs a positive integer');
        return 2;
      }
    } else if (a === '-e') {
      if (rest[i + 1] === undefined) {
        out('-e needs a string');
        return 2;
      }
      input = unescape(rest[++i]!);
    } else if (a === '-h' || a === '--help') {
      out(USAGE);
      return 0;
    } else if (a === '-') input = stdin();
    else if (a.startsWith('-')) {
      out(`unknown option ${a}\n\n${USAGE}`);
      return 2;
    } else {
      try {
        input = readFileSync(a);
      } catch (e) {
        out(`cannot read ${a}: ${(e as Error).message}`);
        return 2;
      }
    }
  }
  if (input === null) input = stdin();
  const r = parseMessages(input, {
    kind: response ? 'response' : 'request',
    head,
    eof,
    allowBareLF,
    requireHost,
    ...(split !== undefined ? { split } : {}),
    trace: trace ? (s) => out(`@${String(s.offset).padStart(6)}  ${s.step.padEnd(10)}  ${s.detail}`) : undefined,
    onEvent: trace
      ? (ev) => {
          if (ev.type === 'head') out(`@${String(ev.offset).padStart(6)}  ${'head'.padEnd(10)}  complete`);
          else if (ev.type === 'data') {
            const d = ev['data'] as Buffer;
            out(`@${String(ev.offset - d.length).padStart(6)}  ${'data'.padEnd(10)}  ${d.length} bytes ${show(d.toString('latin1'))}`);
          } else if (ev.type === 'end') out(`@${String(ev.offset).padStart(6)}  ${'end'.padEnd(10)}  message complete`);
          else if (ev.type === 'error') out(`@${String((ev['error'] as { offset: number }).offset).padStart(6)}  ${'error'.padEnd(10)}  ${(ev['error'] as Error).message} [${String(ev['state'])}]`);
        }
      : undefined,
  });
  // Say in words what the JSON says in flags: no input, or a message cut short.
  if (input.length === 0) out('no input: 0 bytes were given (an empty file or standard input?)');
  else if (r.partial) out(`incomplete: the input ends inside a message after ${input.length} bytes (add --eof if the connection ended there)`);
  out(JSON.stringify({
    messages: r.messages.map(messageJson),
    error: r.error ? r.error.toJSON() : null,
    consumed: r.consumed,
    ...(r.upgraded ? { upgraded: true } : {}),
    ...(r.partial ? { partial: true } : {}),
  }, null, 2));
  return r.error || r.partial || input.length === 0 ? 1 : 0;
}

/**
 * `repy-http serve [DIR | MODULE.mjs] [--host H] [--port P] [--workers N] [--no-log]`:
 * registers the callback, prints `serving WHAT on http://H:P/` once
 * listening, and resolves with the exit status once `stop` resolves (by
 * default on SIGINT or SIGTERM), after `stopCallback`. A usage error
 * resolves at once with 2. With `--workers N`, `serveCluster` forks N
 * workers that run this command again and register there; the primary
 * resolves once they have all stopped (SIGTERM/SIGINT, or `stop`), and
 * rolls a restart on SIGHUP.
 *
 * @example
 * process.exitCode = await serve(['public', '--port', '0']);
 */
export function serve(
  args: string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  stop: () => Promise<unknown> = untilSignal,
): Promise<number> {
  return runServer('serve', args, out, stop);
}

/**
 * `repy-http inspect [DIR | MODULE.mjs] [--host H] [--port P] [--no-log]`:
 * as {@link serve}, with the inspector page at `/_inspect/`; without DIR or
 * MODULE, the callback echoes what it received (so that a learner can send
 * anything with curl and look).
 *
 * @example
 * process.exitCode = await inspect(['--port', '8080']);
 * // inspecting the echo callback on http://127.0.0.1:8080/ (page: http://127.0.0.1:8080/_inspect/)
 */
export function inspect(
  args: string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  stop: () => Promise<unknown> = untilSignal,
): Promise<number> {
  return runServer('inspect', args, out, stop);
}

const untilSignal = (): Promise<unknown> => new Promise((done) => { process.once('SIGINT', done); process.once('SIGTERM', done); });

/**
 * The callback of `repy-http inspect` without DIR or MODULE: reads the
 * content and says what arrived, as plain text.
 *
 * @example echo(req) // resolves { statuscode: 200, message: 'POST /form HTTP/1.1: 12 bytes of content …' }
 */
export async function echo(req: RequestDict): Promise<{ statuscode: number; headers: Record<string, string>; message: string }> {
  let length = 0;
  for await (const chunk of req.datastream) length += chunk.length;
  const fields = req.rawheaders.map(([n, v]) => `  ${n}: ${v}`).join('\n');
  return {
    statuscode: 200,
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    message: `${req.verb} ${req.path}${req.querystr === null ? '' : `?${req.querystr}`} HTTP/${req.version}: ${length} bytes of content\n${fields}\n(see /_inspect/ for the bytes)\n`,
  };
}

async function runServer(command: 'serve' | 'inspect', args: string[], out: (line: string) => void, stop: () => Promise<unknown>): Promise<number> {
  let target: string | null = null;
  let host = '127.0.0.1';
  let port = 8000;
  let log = true;
  let workers = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--host' && args[i + 1] !== undefined) host = args[++i]!;
    else if (a === '--port') {
      port = Number(args[++i]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        out('--port needs an integer 0-65535');
        return 2;
      }
    } else if (a === '--workers' && command === 'serve') {
      // Not for inspect: its page shows one process's traffic.
      workers = Number(args[++i]);
      if (!Number.isInteger(workers) || workers < 1) {
        out('--workers needs a positive integer');
        return 2;
      }
    } else if (a === '--no-log') log = false;
    else if (a === '-h' || a === '--help') {
      out(USAGE);
      return 0;
    } else if (a.startsWith('-')) {
      out(`unknown option ${a}\n\n${USAGE}`);
      return 2;
    } else target = a;
  }
  if (target === null && command === 'serve') target = '.';
  let callback: Callback;
  try {
    if (target === null) callback = echo;
    else if (statSync(target).isDirectory()) callback = serveStatic(target);
    else if (target.endsWith('.mjs') || target.endsWith('.js')) {
      const mod = (await import(pathToFileURL(resolve(target)).href)) as { default?: unknown };
      if (typeof mod.default !== 'function') {
        out(`${target} has no default export that is a function (the callback)`);
        return 2;
      }
      callback = mod.default as Callback;
    } else {
      out(`${target} is neither a directory nor a .mjs/.js module`);
      return 2;
    }
  } catch (e) {
    out(`cannot ${command} ${target}: ${(e as Error).message}`);
    return 2;
  }
  const where = (h: string, p: number): string => `http://${h.includes(':') ? `[${h}]` : h}:${p}/`;
  if (workers > 0) {
    const served = callback;
    const cluster = await serveCluster({
      workers,
      address: [host, port],
      // Each worker runs this command again and gets here: it registers on the primary's address.
      // stopIdleTimeout: a rolling restart answers the requests that cross the FIN of a kept-alive connection.
      setup: (address) => registerCallback(address, served, { log, stopIdleTimeout: 1000 }),
      onEvent: (e) => {
        if (e.type === 'roll') out(e.phase === 'start' ? 'SIGHUP: restarting the workers one at a time' : `restarted: workers ${cluster.workers().join(' ')}`);
        else if (e.type === 'stop' && e.phase === 'start') out('stopping: in-flight requests are answered, then the workers exit');
      },
    });
    if (cluster.role === 'worker') {
      await cluster.stopped; // the worker exits when told to stop
      /* c8 ignore next */
      return 0;
    }
    out(`serving ${target} on ${where(cluster.address[0], cluster.address[1])} with ${workers} workers (pids ${cluster.workers().join(' ')})`);
    void stop().then(() => cluster.stop());
    await cluster.stopped;
    return 0;
  }
  const inspector = command === 'inspect' ? withInspector(callback) : null;
  const id = await registerCallback([host, port], inspector?.callback ?? callback, { log, ...(inspector ? { onRaw: inspector.onRaw } : {}) });
  const [h, p] = boundAddress(id);
  const url = where(h, p);
  if (inspector === null) out(`serving ${target} on ${url}`);
  else out(`inspecting ${target ?? 'the echo callback'} on ${url} (page: ${url}_inspect/)`);
  await stop();
  inspector?.close();
  await stopCallback(id);
  return 0;
}

/* c8 ignore next 9 */
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // `repy-http parse … | head`: a reader that stops early is no error of ours.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? (process.exitCode as number | undefined) ?? 0 : 1));
  const argv = process.argv.slice(2);
  if (argv[0] === 'serve') void serve(argv.slice(1)).then((code) => { process.exitCode = code; });
  else if (argv[0] === 'inspect') void inspect(argv.slice(1)).then((code) => { process.exitCode = code; });
  else process.exitCode = main(argv);
}
