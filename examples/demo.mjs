// The `npm start` demo: an echo server that answers every request with its
// request dictionary as JSON.
//
//   npm start                          # builds, then listens on 127.0.0.1:8080
//   HOST=0.0.0.0 PORT=0 npm start      # every interface, a free port
//
// Stop it with Ctrl-C (SIGINT) or SIGTERM: it stops through stopCallback,
// letting in-flight requests finish.

import { registerCallback, stopCallback, boundAddress } from '../dist/index.js';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);

async function echo(req) {
  // Read the whole request content (an empty Buffer when there is none).
  const body = await req.datastream.read();
  const dict = {
    verb: req.verb,
    path: req.path,
    querystr: req.querystr,
    querydict: req.querydict,
    version: req.version,
    headers: req.headers,
    rawheaders: req.rawheaders,
    httpdid: req.httpdid,
    remoteipstr: req.remoteipstr,
    remoteportnum: req.remoteportnum,
    bodylength: body.length,
  };
  // Pretty JSON, with each [name, value] pair of rawheaders kept on one line.
  const json = JSON.stringify(dict, null, 2).replace(/\[\n\s*("(?:[^"\\]|\\.)*"),\n\s*("(?:[^"\\]|\\.)*")\n\s*\]/g, '[$1, $2]');
  return {
    statuscode: 200,
    headers: { 'Content-Type': 'application/json' },
    message: `${json}\n`,
  };
}

const id = await registerCallback([host, port], echo, {
  onError: (err, req) => console.error(`callback failed${req ? ` for ${req.verb} ${req.path}` : ''}:`, err),
});

const [boundHost, boundPort] = boundAddress(id);
const urlHost = boundHost.includes(':') ? `[${boundHost}]` : boundHost;
const url = `http://${urlHost}:${boundPort}/`;
console.log(`repy-http demo (id ${id}) listening on ${url}`);
console.log(`try: curl -i '${url}hello?name=world&flag' --data 'some body'`);
console.log('stop: Ctrl-C');

let stopping = false;
async function stop(signal) {
  if (stopping) {
    console.log(`${signal} again: exiting at once`);
    process.exit(1);
  }
  stopping = true;
  console.log(`${signal}: stopping`);
  await stopCallback(id);
  console.log('stopped');
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
