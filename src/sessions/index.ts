/**
 * `repy-http/sessions`: per-session continuations (issue #13). One async
 * function per session; `await session.next(response)` answers the request
 * in hand and waits for that session's next one. docs/sessions.md.
 *
 * @example
 * import { sessions, SessionExpiredError } from 'repy-http/sessions';
 * const app = sessions(async (session) => { let req = await session.next(); ... });
 * await registerCallback(['127.0.0.1', 8080], app.callback);
 *
 * @module
 */

export { sessions, ENDED, type SessionFunction, type SessionsApp, type SessionsOptions, type SessionInfo } from './app.js';
export { SessionExpiredError } from './errors.js';
export { newSessionId, isSessionId, checkHome } from './id.js';
export { cookieMapper, queryMapper, pathMapper, peerMapper, keyMapper, type SessionMapper, type CookieMapperOptions } from './mapper.js';
export { isStaticPath, STATIC_EXTENSIONS } from './static-paths.js';
export type { Session } from './session.js';
