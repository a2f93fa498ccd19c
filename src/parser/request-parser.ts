/**
 * The request parser (server side): request-line (RFC 9112 §3), the Host
 * rule (§3.2), Expect (RFC 9110 §10.1.1), and the body length framing.ts
 * decides for a request.
 *
 * @module
 */

import { MessageParser } from './message-parser.js';
import { messageBodyLength } from './framing.js';
import { checkTargetForm } from './target.js';
import { listMembers } from './text.js';
import type { ParserOptions, RequestHead } from './types.js';
import { HttpParseError } from '../errors.js';

/**
 * The request parser.
 *
 * @example
 * const p = new RequestParser();
 * p.push(Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n\r\n'));
 * p.next(); // { type: 'head', head: { method: 'GET', target: '/x', version: '1.1', ... } }
 * p.next(); // { type: 'end', trailers: [] }
 * p.next(); // { type: 'partial' }
 */
export class RequestParser extends MessageParser<RequestHead> {
  constructor(options: ParserOptions = {}) {
    super(true, options);
  }

  protected buildHead(): RequestHead | HttpParseError {
    const h = this.h;
    const method = h.startLine[0]!;
    const target = h.startLine[1]!;
    const at = this.offset;
    const headSize = this.offset - h.msgStart;
    if (h.versionMajor === 0) {
      this.body = 'none';
      return {
        method, target, version: '0.9', versionMinor: 9, rawHeaders: [], contentLength: null, chunked: false,
        keepAlive: false, upgrade: false, expectContinue: false, expectOther: null, offset: h.msgStart, headSize,
      };
    }
    const formError = checkTargetForm(method, target);
    if (formError !== null) return new HttpParseError('TARGET_INVALID', h.msgStart + method.length + 1, formError);
    const f = h.fr;
    const http11 = h.versionMinor >= 1;
    // RFC 9112 §3.2: exactly one Host for HTTP/1.1 (more than one was refused line by line).
    if (f.hosts === 0 && http11 && this.o.requireHost) return new HttpParseError('HOST_MISSING', at);
    const body = messageBodyLength(f, true, method, 0, at);
    if (body instanceof HttpParseError) return body;
    if (body === 'length' && !this.bodyFits(f.contentLength!)) return new HttpParseError('BODY_TOO_LARGE', at);
    const isConnect = body === 'tunnel';
    let expectContinue = false;
    let expectOther: string | null = null;
    if (f.expect.length > 0) ({ expectContinue, expectOther } = expectation(f.expect, http11));
    this.body = body;
    return {
      method,
      target,
      version: http11 ? '1.1' : '1.0',
      versionMinor: h.versionMinor,
      rawHeaders: h.fields,
      contentLength: body === 'length' ? f.contentLength : null,
      chunked: body === 'chunked',
      keepAlive: !f.close && (http11 || f.keepAliveToken),
      // RFC 9110 §7.8: Upgrade in an HTTP/1.0 request MUST be ignored.
      upgrade: isConnect || (http11 && f.upgradeToken && f.upgradeField),
      expectContinue,
      expectOther,
      offset: h.msgStart,
      headSize,
    };
  }
}

/** Expect (RFC 9110 §10.1.1): 100-continue (HTTP/1.1 only), or the value asking for something else (417). */
function expectation(values: string[], http11: boolean): { expectContinue: boolean; expectOther: string | null } {
  let expectContinue = false;
  let expectOther: string | null = null;
  for (const e of values) {
    for (const m of listMembers(e)) {
      if (m === '100-continue') expectContinue = true;
      else if (m !== '') expectOther ??= e;
    }
  }
  return { expectContinue: expectContinue && http11, expectOther };
}
