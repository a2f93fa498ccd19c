/**
 * The response parser (client side): status-line (RFC 9112 §4), interim
 * responses (RFC 9110 §15.2), and the body length framing.ts decides for a
 * response — which depends on the request it answers (HEAD, CONNECT).
 *
 * @module
 */

import { MessageParser, M_HEAD } from './message-parser.js';
import { messageBodyLength } from './framing.js';
import type { ParserOptions, ResponseHead } from './types.js';
import { HttpParseError } from '../errors.js';

/**
 * The response parser. Call {@link ResponseParser.expectNoBody} before
 * pushing the response to a HEAD request.
 *
 * @example
 * const p = new ResponseParser();
 * p.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'));
 * p.next(); // { type: 'head', head: { status: 200, reason: 'OK', ... } }
 * p.next(); // { type: 'data', data: <Buffer 68 69> }
 * p.next(); // { type: 'end', trailers: [] }
 */
export class ResponseParser extends MessageParser<ResponseHead> {
  /** The method of the request this response answers, as far as framing cares: HEAD, CONNECT, or any other. */
  private requestMethod = 'GET';

  constructor(options: ParserOptions = {}) {
    super(false, options);
  }

  /**
   * Declares that the next response answers a HEAD request (no content,
   * whatever its framing fields say, RFC 9112 §6.3 rule 1), or a CONNECT
   * (only a 2xx, the tunnel, has none; a 407 or 502 to it is framed as
   * usual, rule 2).
   */
  expectNoBody(method: 'HEAD' | 'CONNECT' = 'HEAD'): void {
    this.requestMethod = method;
  }

  protected buildHead(): ResponseHead | HttpParseError {
    const h = this.h;
    const status = Number(h.startLine[0]);
    if (status < 100) return new HttpParseError('STATUS_LINE_INVALID', h.msgStart + 9, `status ${status} out of range`);
    const f = h.fr;
    const http11 = h.versionMinor >= 1;
    const body = messageBodyLength(f, false, this.requestMethod, status, this.offset);
    if (body instanceof HttpParseError) return body;
    if (body === 'length' && !this.bodyFits(f.contentLength!)) return new HttpParseError('BODY_TOO_LARGE', this.offset);
    const closeDelimited = body === 'until-close';
    this.body = body;
    return {
      status,
      reason: h.startLine[1] ?? '',
      version: http11 ? '1.1' : '1.0',
      versionMinor: h.versionMinor,
      rawHeaders: h.fields,
      contentLength: body === 'length' ? f.contentLength : null,
      chunked: body === 'chunked',
      keepAlive: !closeDelimited && !f.close && (http11 || f.keepAliveToken),
      upgrade: body === 'tunnel',
      closeDelimited,
      offset: h.msgStart,
      headSize: this.offset - h.msgStart,
    };
  }

  protected override afterMessage(head: ResponseHead): number {
    // An interim response is followed by the final one (RFC 9110 §15.2).
    if (head.status < 200 && head.status !== 101) return M_HEAD;
    this.requestMethod = 'GET';
    return super.afterMessage(head);
  }
}
