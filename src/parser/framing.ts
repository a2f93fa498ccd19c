/**
 * Message framing (RFC 9112 §6): the fields that decide where a message's
 * body ends, read as the field lines arrive, and ONE function,
 * {@link messageBodyLength}, that applies the rules of RFC 9112 §6.3 in
 * their order. The request parser, the response parser and the response
 * writer (src/server/response.ts) all ask it, as llhttp asks
 * `llhttp__after_headers_complete`.
 *
 * | RFC 9112 §6.3 rule | message | body |
 * | --- | --- | --- |
 * | 1 | response to HEAD; 1xx; 204; 304 | `none` (101 is the `tunnel`) |
 * | 2 | 2xx response to CONNECT | `tunnel` |
 * | 3 | Transfer-Encoding and Content-Length | error, refused line by line ({@link readFramingField}) |
 * | 4 | Transfer-Encoding, final coding chunked | `chunked` |
 * | 4 | Transfer-Encoding, final coding not chunked | response: `until-close`; request: 400 |
 * | 5 | invalid Content-Length | error, refused line by line |
 * | 6 | valid Content-Length | `length` |
 * | 7 | request with neither | `none` (length 0) |
 * | 8 | response with neither | `until-close` |
 *
 * A CONNECT request has no content (RFC 9110 §9.3.6): its `tunnel` starts
 * after the head.
 *
 * @module
 */

import { TOKEN } from './constants.js';
import { equalsLower, listMembers, trimOWS } from './text.js';
import { validHost } from './target.js';
import { HttpParseError } from '../errors.js';

/** Framing and connection fields gathered from one header section. */
export interface FramingFields {
  contentLength: number | null;
  /** A Transfer-Encoding field was present. */
  te: boolean;
  emptyMembers: number;
  /** The transfer codings of every Transfer-Encoding line, lower-cased; `name;` when it had parameters. */
  codings: string[];
  close: boolean;
  keepAliveToken: boolean;
  upgradeToken: boolean;
  upgradeField: boolean;
  /** How many Host lines there were. */
  hosts: number;
  expect: string[];
}

export function newFraming(): FramingFields {
  return {
    contentLength: null, te: false, emptyMembers: 0, codings: [], close: false, keepAliveToken: false,
    upgradeToken: false, upgradeField: false, hosts: 0, expect: [],
  };
}

/**
 * The framing fields a sender writes: a Content-Length, or chunked.
 *
 * @example messageBodyLength({ request: false, method: 'GET', status: 200, fields: sentFraming(null, false), at: 0 }) // 'until-close'
 */
export function sentFraming(contentLength: number | null, chunked: boolean): FramingFields {
  const f = newFraming();
  f.contentLength = contentLength;
  if (chunked) {
    f.te = true;
    f.codings.push('chunked');
  }
  return f;
}

/**
 * Reads one field line into `f` when it frames the message or the
 * connection. Content-Length must be digits only and repeats must agree
 * (RFC 9110 §8.6); Transfer-Encoding must be a list of tokens and may not
 * come with Content-Length (RFC 9112 §6.3 rule 3) or in an HTTP/1.0
 * message (§6.1); more than one Host is refused (§3.2). The errors come at
 * the line, as early as llhttp's.
 */
export function readFramingField(f: FramingFields, name: string, value: string, at: number, isRequest: boolean, http10: boolean): HttpParseError | null {
  // By length, then by the first letter (either case): most field lines
  // are none of these, and are told so without a call.
  const first = name.charCodeAt(0) | 0x20;
  switch (name.length) {
    case 4:
      if (first === 0x68 && equalsLower(name, 'host')) {
        f.hosts++;
        if (isRequest && f.hosts > 1) return new HttpParseError('HOST_DUPLICATE', at);
        if (isRequest && !validHost(value)) return new HttpParseError('HOST_INVALID', at, `invalid Host ${JSON.stringify(value)}`);
      }
      return null;
    case 6:
      if (first === 0x65 && equalsLower(name, 'expect')) f.expect.push(value);
      return null;
    case 7:
      if (first === 0x75 && equalsLower(name, 'upgrade')) f.upgradeField = true;
      return null;
    case 10:
      if (first === 0x63 && equalsLower(name, 'connection')) readConnection(f, value);
      return null;
    case 14:
      return first === 0x63 && equalsLower(name, 'content-length') ? readContentLength(f, value, at) : null;
    case 17:
      if (first !== 0x74 || !equalsLower(name, 'transfer-encoding')) return null;
      return readTransferEncoding(f, value, at, http10);
    default:
      return null;
  }
}

/** Connection = #connection-option (RFC 9110 §7.6.1): close, keep-alive, upgrade. */
function readConnection(f: FramingFields, value: string): void {
  // The two values nearly every client sends, without splitting.
  if (equalsLower(value, 'keep-alive')) f.keepAliveToken = true;
  else if (equalsLower(value, 'close')) f.close = true;
  else for (const t of listMembers(value)) {
    if (t === 'close') f.close = true;
    else if (t === 'keep-alive') f.keepAliveToken = true;
    else if (t === 'upgrade') f.upgradeToken = true;
  }
}

/** Content-Length = 1*DIGIT (RFC 9110 §8.6). */
function readContentLength(f: FramingFields, value: string, at: number): HttpParseError | null {
  // A list of identical values ("5, 5") is the one repeat RFC 9110 §8.6 lets a recipient accept.
  for (const member of value.split(',')) {
    const v = trimOWS(member);
    if (!/^[0-9]{1,15}$/.test(v)) return new HttpParseError('CONTENT_LENGTH_INVALID', at, `invalid Content-Length ${JSON.stringify(value)}`);
    const n = Number(v);
    if (f.contentLength !== null && n !== f.contentLength) return new HttpParseError('CONTENT_LENGTH_CONFLICT', at);
    f.contentLength = n;
  }
  if (f.te) return new HttpParseError('TE_WITH_CONTENT_LENGTH', at);
  return null;
}

/** Transfer-Encoding = #transfer-coding (RFC 9112 §6.1). */
function readTransferEncoding(f: FramingFields, value: string, at: number, http10: boolean): HttpParseError | null {
  f.te = true;
  // transfer-coding = token *( OWS ";" OWS transfer-parameter ) (RFC 9112 §6.1).
  // ",chunked" is chunked (RFC 9110 §5.6.1.2); with Content-Length it is
  // refused like any Transfer-Encoding (http-garden transducer-18).
  for (const raw of value.split(',')) {
    const m = trimOWS(raw);
    // Empty list members are ignored (RFC 9110 §5.6.1.2), a bounded number of them.
    if (m.length === 0) {
      if (++f.emptyMembers > 8) return new HttpParseError('TE_INVALID', at, 'too many empty list members');
      continue;
    }
    const semi = m.indexOf(';');
    const tok = semi === -1 ? m : trimOWS(m.slice(0, semi));
    if (tok.length === 0) return new HttpParseError('TE_INVALID', at, `empty transfer coding in ${JSON.stringify(value)}`);
    for (let k = 0; k < tok.length; k++) {
      if (TOKEN[tok.charCodeAt(k)] !== 1) return new HttpParseError('TE_INVALID', at, `invalid transfer coding ${JSON.stringify(m)}`);
    }
    f.codings.push(semi === -1 ? tok.toLowerCase() : `${tok.toLowerCase()};`);
  }
  if (f.contentLength !== null) return new HttpParseError('TE_WITH_CONTENT_LENGTH', at);
  if (http10) return new HttpParseError('TE_IN_HTTP10', at);
  return null;
}

/** How the body of a message is delimited (RFC 9112 §6.3). With `length`, the length is `fields.contentLength`. */
export type BodyKind = 'none' | 'length' | 'chunked' | 'until-close' | 'tunnel';

/**
 * The message body length, RFC 9112 §6.3 rule by rule (the table at the
 * top of this file), as llhttp's `llhttp__after_headers_complete` decides it.
 *
 * - `f`: the message's framing fields;
 * - `request`: true for a request, false for a response;
 * - `method`: a request's method; for a response, the method of the request it answers;
 * - `status`: a response's status code (not read for a request);
 * - `at`: the byte offset an error points at (the end of the head).
 *
 * (Arguments rather than one object: it runs once per message, on the hot path.)
 *
 * @example
 * messageBodyLength(fields, false, 'HEAD', 200, at) // 'none'
 * messageBodyLength(fields, true, 'POST', 0, at)    // 'length', 'chunked', 'none' or an error
 */
export function messageBodyLength(f: FramingFields, request: boolean, method: string, status: number, at: number): BodyKind | HttpParseError {
  if (!request) {
    // 101 Switching Protocols: the bytes after the head are the new protocol (RFC 9110 §15.2.2).
    if (status === 101) return 'tunnel';
    // Rule 1: no content after a HEAD request, in a 1xx, 204 or 304, whatever the framing fields say.
    if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return 'none';
    // Rule 2: a 2xx to CONNECT switches the connection to a tunnel.
    if (method === 'CONNECT' && status < 300) return 'tunnel';
  }
  // Rule 3 (Transfer-Encoding with Content-Length) and rule 5 (an invalid
  // Content-Length) were refused as the lines arrived: readFramingField.
  if (f.te) {
    const e = finalCoding(f, at);
    // Rule 4: a final coding other than chunked: a response runs until the
    // connection closes; a request's length cannot be determined (400).
    if (e === 'not-final') {
      if (!request) return 'until-close';
      const last = f.codings[f.codings.length - 1]!;
      return new HttpParseError('TE_NOT_CHUNKED_FINAL', at, `the final transfer coding is ${JSON.stringify(last.replace(/;$/, ''))}, not chunked`);
    }
    if (e !== null) return e;
  }
  // A CONNECT request has no content (RFC 9110 §9.3.6): what follows is the tunnel.
  if (request && method === 'CONNECT') return 'tunnel';
  // Rule 4: chunked is the final coding.
  if (f.te) return 'chunked';
  // Rule 6: a valid Content-Length.
  if (f.contentLength !== null) return 'length';
  // Rule 7: a request with neither has no content; rule 8: a response's runs until the connection closes.
  return request ? 'none' : 'until-close';
}

/**
 * The transfer codings as one list (RFC 9112 §6.1): at least one coding;
 * `chunked` without parameters, applied once (§7.1), and final
 * (`not-final` otherwise); codings before it are not implemented here (501).
 */
function finalCoding(f: FramingFields, at: number): HttpParseError | 'not-final' | null {
  const codings = f.codings;
  if (codings.length === 0) return new HttpParseError('TE_INVALID', at, 'Transfer-Encoding names no transfer coding');
  const last = codings[codings.length - 1]!;
  if (last === 'chunked;') return new HttpParseError('TE_INVALID', at, 'chunked takes no parameters');
  if (last !== 'chunked') return 'not-final';
  if (codings.indexOf('chunked') !== codings.length - 1 || codings.indexOf('chunked;') !== -1) {
    return new HttpParseError('TE_NOT_CHUNKED_FINAL', at, 'chunked applied more than once');
  }
  if (codings.length > 1) {
    return new HttpParseError('TE_UNSUPPORTED', at, `transfer coding ${JSON.stringify(codings[0]!.replace(/;$/, ''))} not implemented`);
  }
  return null;
}
