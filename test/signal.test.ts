// registerCallback(addr, cb, { signal }): aborting the signal stops the registration.
import t from 'tap';
import { getEventListeners } from 'node:events';
import { connect } from 'node:net';
import { boundAddress, registerCallback, stopCallback } from '../src/server/server.js';
import { getString } from '../src/client/client.js';
import { KeyError } from '../src/errors.js';

/** Resolves with the connect error's code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

t.test('aborting the signal stops the registration', async (t) => {
  const ac = new AbortController();
  const id = await registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200, message: 'up' }), { signal: ac.signal, onError: null });
  const port = boundAddress(id)[1];
  t.equal(await getString(`http://127.0.0.1:${port}/`), 'up');
  t.equal(getEventListeners(ac.signal, 'abort').length, 1, 'one abort listener while registered');
  ac.abort();
  // stopCallback runs: the id is gone at once, the port soon after.
  t.throws(() => boundAddress(id), KeyError);
  await t.rejects(stopCallback(id), KeyError, 'already stopped by the signal');
  for (let k = 0; k < 50 && (await tryConnect(port)) === 'connected'; k++) await new Promise((r) => setTimeout(r, 20));
  t.equal(await tryConnect(port), 'ECONNREFUSED', 'nothing listens any more');
});

t.test('an aborted signal: registerCallback rejects with its reason, without listening', async (t) => {
  const ac = new AbortController();
  const reason = new Error('shutting down');
  ac.abort(reason);
  await t.rejects(registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200 }), { signal: ac.signal }), reason);
});

t.test('stopCallback first: the abort listener is removed, a later abort does nothing', async (t) => {
  const ac = new AbortController();
  const id = await registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200 }), { signal: ac.signal, onError: null });
  await stopCallback(id);
  t.equal(getEventListeners(ac.signal, 'abort').length, 0, 'no listener left behind');
  t.doesNotThrow(() => ac.abort());
});

t.test('options.signal must be an AbortSignal', async (t) => {
  await t.rejects(registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200 }), { signal: {} as AbortSignal }), TypeError);
});

t.test('aborted while the listener starts: the registration stops as soon as it exists', async (t) => {
  const ac = new AbortController();
  const pending = registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200 }), { signal: ac.signal, onError: null });
  ac.abort();
  const id = await pending;
  t.throws(() => boundAddress(id), KeyError, 'stopped already');
});
