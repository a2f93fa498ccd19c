// SSE fan-out (issue #11): one source, W watchers. The server (its own
// process on the server core, bench/sse-server.mjs) emits E events to every
// watcher; the watchers are raw sockets in a client process on the client
// core (bench/clients/sse-watchers.mjs), which says when every watcher has
// every event. repy-http's eventStream against a hand-written node:http
// SSE server, alternating, in the same run.
//
//   node bench/sse-fanout.mjs [--smoke]      (or through bench/run.mjs: `sse`)
//
// Reported: events delivered per second (E × W / time from the first emit
// to the last watcher's last event), server CPU µs per delivered event, and
// RSS per watcher ((RSS with W streams open − RSS before) / W, after a full
// GC). Ratios: ours / node:http.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, fmt, jsonLines, printRatios, printTable, ratio, sleep, spawnPinned, summarize, writeResult } from './lib.mjs';

const CONTENDERS = [
  { key: 'ours', label: 'repy-http eventStream' },
  { key: 'node', label: 'node:http by hand' },
];

async function start(kind, watchers) {
  const child = spawnPinned('server', [process.execPath, '--expose-gc', join(BENCH_DIR, 'sse-server.mjs'), kind], { nofile: watchers + 1024 });
  const lines = jsonLines(child);
  const ready = await lines.next((m) => m.ready === true, 30_000);
  const exited = new Promise((r) => child.once('exit', r));
  const ask = async (cmd, key, ms) => {
    child.stdin.write(`${cmd}\n`);
    return (await lines.next((m) => m[key] !== undefined, ms))[key];
  };
  return {
    port: ready.port,
    mem: () => ask('mem', 'mem'),
    cpu: async () => {
      const c = await ask('cpu', 'cpu');
      return c.user + c.system;
    },
    run: (events, perTurn) => {
      child.stdin.write(`run ${events} ${perTurn}\n`);
      return lines.next((m) => m.emitted !== undefined, 300_000);
    },
    async stop() {
      if (child.exitCode === null) {
        child.stdin.write('exit\n');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

async function measureOnce(kind, watchers, events, perTurn) {
  const server = await start(kind, watchers);
  let client = null;
  try {
    const before = await server.mem();
    client = spawnPinned('client', [process.execPath, join(BENCH_DIR, 'clients', 'sse-watchers.mjs'), String(server.port), String(watchers)], { nofile: watchers + 1024 });
    const lines = jsonLines(client);
    const ready = await lines.next((m) => m.ready !== undefined, 120_000);
    if (ready.ready !== watchers) throw new Error(`${kind}: only ${ready.ready} of ${watchers} watchers connected`);
    await sleep(200);
    const open = await server.mem();
    const cpu0 = await server.cpu();
    client.stdin.write(`expect ${events}\n`);
    await sleep(20); // the command reaches the client before the first event does
    const t0 = performance.now();
    const emitted = server.run(events, perTurn);
    const done = await lines.next((m) => m.done === true, 300_000);
    const ms = performance.now() - t0;
    const emit = await emitted;
    const cpu = (await server.cpu()) - cpu0;
    const delivered = events * watchers;
    return {
      eventsPerSec: delivered / (ms / 1000), ms, clientMs: done.ms, emitMs: emit.ms,
      cpuUsPerEvent: cpu / delivered, cpuPct: (cpu / 1000 / ms) * 100,
      rssPerWatcher: (open.rss - before.rss) / watchers, heapPerWatcher: (open.heapUsed - before.heapUsed) / watchers,
    };
  } finally {
    client?.stdin.write('exit\n');
    await server.stop();
  }
}

/**
 * @param {{ watchers: number, events: number, perTurn: number, rounds: number }} p
 */
export async function runSseFanout({ watchers, events, perTurn, rounds }) {
  const title = `SSE fan-out: one source, ${fmt(watchers)} watchers, ${fmt(events)} events each`;
  console.log(`\n## ${title}`);
  console.log(`events delivered/s = events × watchers / (first emit → last watcher's last event); ${perTurn} events per event-loop turn; RSS per watcher after a full GC; ${rounds} rounds per contender, alternating, fresh server process each`);
  const runs = Object.fromEntries(CONTENDERS.map((c) => [c.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of CONTENDERS) runs[c.key].push(await measureOnce(c.key, watchers, events, perTurn));
  }
  const stats = {};
  for (const c of CONTENDERS) {
    const rs = runs[c.key];
    stats[c.key] = {
      label: c.label,
      eventsPerSec: summarize(rs.map((x) => x.eventsPerSec)),
      cpuUsPerEvent: summarize(rs.map((x) => x.cpuUsPerEvent)),
      cpuPct: summarize(rs.map((x) => x.cpuPct)),
      rssPerWatcher: summarize(rs.map((x) => x.rssPerWatcher)),
      heapPerWatcher: summarize(rs.map((x) => x.heapPerWatcher)),
      samples: rs,
    };
  }
  printTable(
    ['contender', 'events/s (median)', 'min', 'max', 'server µs/event', 'server CPU %', 'RSS B/watcher', 'heap B/watcher'],
    CONTENDERS.map((c) => {
      const s = stats[c.key];
      return [c.label, fmt(s.eventsPerSec.median), fmt(s.eventsPerSec.min), fmt(s.eventsPerSec.max), fmt(s.cpuUsPerEvent.median, 2), fmt(s.cpuPct.median), fmt(s.rssPerWatcher.median), fmt(s.heapPerWatcher.median)];
    }),
  );
  console.log('');
  const ratios = [
    ratio('repy-http / node:http events delivered per second', stats.ours.eventsPerSec.median / stats.node.eventsPerSec.median, null),
    ratio('by server CPU per event (node µs ÷ ours)', stats.node.cpuUsPerEvent.median / stats.ours.cpuUsPerEvent.median, null),
    ratio('repy-http / node:http RSS per watcher', stats.ours.rssPerWatcher.median / stats.node.rssPerWatcher.median, null, false),
  ];
  printRatios(ratios);
  const file = writeResult('sse-fanout', { title, config: { watchers, events, perTurn, rounds }, contenders: stats, ratios });
  console.log(`→ ${file}`);
  return { name: 'sse', title, ratios };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes('--smoke');
  await runSseFanout(smoke ? { watchers: 1000, events: 100, perTurn: 10, rounds: 1 } : { watchers: 1000, events: 2000, perTurn: 10, rounds: 3 });
}
