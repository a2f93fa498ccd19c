/**
 * HTTPS: the tls.Server that replaces net.Server when the `tls` option is
 * given, and what a request learns about its TLS connection (`req.secure`,
 * `req.peercert`). Everything above the socket (Connection, parser, limits,
 * dictionaries) is the same as for plain HTTP.
 *
 * @module
 */

import type { Server, Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import type { ServerContext } from './connection.js';
import { TlsHandshakeError } from './errors.js';
import type { ServerOptionsResolved } from './options.js';
import type { PeerCertificate } from './request.js';
import { MAX_TIMER } from '../message/timers.js';

/**
 * The HTTPS listener: a tls.Server whose decrypted sockets go to the same
 * `accept` (the same Connection, parser and limits as plain HTTP). ALPN
 * offers `http/1.1` only (RFC 7301: a client that wants h2 alone gets a
 * no_application_protocol alert instead of HTTP/2 frames this parser cannot
 * read). A handshake that fails or outlasts `handshakeTimeout` is reported
 * as a TlsHandshakeError and its socket destroyed: never a crash, never a
 * socket left open.
 *
 * @example
 * const server = tlsServer(opts, ctx, new Set(), (socket) => connections.add(new Connection(socket, ctx)));
 */
export function tlsServer(opts: ServerOptionsResolved, ctx: ServerContext, raw: Set<Socket>, accept: (socket: Socket) => void): Server {
  const server = createServer({
    ...opts.tls,
    ALPNProtocols: ['http/1.1'],
    // 0 or Infinity would fall back to node's own 120 s: the longest timer instead, as asked.
    handshakeTimeout: opts.handshakeTimeout > 0 && opts.handshakeTimeout <= MAX_TIMER ? opts.handshakeTimeout : MAX_TIMER,
    noDelay: true,
    // Not half-open while handshaking: a client that closes mid-handshake (it
    // refused our certificate) would otherwise leave the socket open until
    // handshakeTimeout. Half-open once secure, as plain HTTP connections are
    // (a client may half-close after its request and still read the answer).
    allowHalfOpen: false,
  }, (socket: TLSSocket) => {
    socket.allowHalfOpen = true;
    accept(socket);
  });
  server.on('connection', (socket: Socket) => {
    // maxConnections bounds TCP sockets, handshakes included: before the
    // handshake there is no way to answer 503, so one more is closed at once.
    if (raw.size >= opts.maxConnections) {
      socket.destroy();
      return;
    }
    // Read now: node keeps the peer's address once read, for a report after the socket is gone.
    void socket.remoteAddress;
    raw.add(socket);
    socket.once('close', () => raw.delete(socket));
  });
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    // Once the TCP socket is gone the TLS socket no longer knows its peer; its TCP socket (node's `_parent`) still does.
    const peer = socket.remoteAddress !== undefined ? socket : ((socket as unknown as { _parent?: Socket })._parent ?? socket);
    ctx.report(new TlsHandshakeError(err, peer.remoteAddress ?? '', peer.remotePort ?? 0), null);
    socket.destroy();
  });
  return server;
}

/**
 * The client certificate of a TLS connection as `req.peercert`, or null
 * when the client sent none (or the socket is not TLS). Read once per
 * connection: every request on it shares the object (frozen).
 *
 * @example peerCertificateOf(socket)?.subject.CN === 'alice'
 */
export function peerCertificateOf(socket: TLSSocket): PeerCertificate | null {
  const c = socket.getPeerCertificate();
  if (c === null || typeof c !== 'object' || c.subject === undefined) return null;
  // node sets it to OpenSSL's code (a string), typed as an Error.
  const authError = socket.authorizationError as unknown;
  return Object.freeze({
    subject: Object.freeze({ ...c.subject } as Record<string, string | string[]>),
    issuer: Object.freeze({ ...c.issuer } as Record<string, string | string[]>),
    validFrom: c.valid_from,
    validTo: c.valid_to,
    serialNumber: c.serialNumber,
    fingerprint256: c.fingerprint256,
    authorized: socket.authorized,
    authorizationError: authError === null || authError === undefined ? null : String(authError),
  });
}
