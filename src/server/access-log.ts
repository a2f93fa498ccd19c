/**
 * The access log line of one response, in the Common Log Format of the
 * NCSA httpd and Apache (`%h %l %u %t "%r" %>s %b`):
 *
 * ```
 * 127.0.0.1 - - [02/Dec/2026:00:40:00 +0000] "GET /a?b=1 HTTP/1.1" 200 5
 * ```
 *
 * `%r` is the request line as received (`-` for an answer to bytes that
 * were no request); `"` and `\` in it are escaped so that the line stays
 * parseable; `%b` is the content bytes sent, `-` for none.
 *
 * @module
 */

import type { RequestHead } from '../parser/parser.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** `[02/Dec/2026:00:40:00 +0000]`, in UTC. */
export function clfDate(d: Date): string {
  return `[${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000]`;
}

/**
 * One Common Log Format line.
 *
 * @example accessLine('127.0.0.1', head, 200, 5, new Date()) // '127.0.0.1 - - [...] "GET / HTTP/1.1" 200 5'
 */
export function accessLine(remote: string, head: RequestHead | null, status: number, bytes: number, when: Date): string {
  let request = '-';
  if (head !== null) {
    const line = head.version === '0.9' ? `${head.method} ${head.target}` : `${head.method} ${head.target} HTTP/1.${head.versionMinor}`;
    request = line.split('\\').join('\\\\').split('"').join('\\"');
  }
  return `${remote || '-'} - - ${clfDate(when)} "${request}" ${status} ${bytes > 0 ? bytes : '-'}`;
}
