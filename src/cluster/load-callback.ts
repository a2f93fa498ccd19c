/**
 * Loading the callback of a worker from an ES module, as `repy-http serve
 * MODULE` does.
 *
 * @module
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Callback } from '../server/server.js';
import type { ServerOptions } from '../server/options.js';
import { ClusterError } from './errors.js';

/**
 * A module given as a path (relative to the current directory), a `file:`
 * URL string or a `URL`, as the absolute URL that `import()` takes. The
 * primary resolves it once, so that workers load the same file whatever
 * they do with their directory.
 *
 * @example moduleUrl('./app.mjs') // 'file:///home/me/site/app.mjs'
 */
export function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (module.startsWith('file:')) return new URL(module).href;
  return pathToFileURL(resolve(module)).href;
}

/**
 * Imports `url` and returns its callback: the default export if it is a
 * function, else the `callback` export; and its `options` export (server
 * options for `registerCallback`, e.g. an `onError`), if any. Rejects with
 * `ClusterError` `ERR_CLUSTER_MODULE` when there is no callback.
 *
 * @example
 * // app.mjs: export default (req) => ({ statuscode: 200, message: 'hi' });
 * const { callback } = await loadCallback(moduleUrl('./app.mjs'));
 */
export async function loadCallback(url: string): Promise<{ callback: Callback; options: ServerOptions }> {
  const mod = (await import(url)) as { default?: unknown; callback?: unknown; options?: unknown };
  const callback = typeof mod.default === 'function' ? mod.default : mod.callback;
  if (typeof callback !== 'function') {
    throw new ClusterError('ERR_CLUSTER_MODULE', `${url} exports no callback: export default (req) => response, or export const callback`);
  }
  const options = mod.options !== undefined && mod.options !== null && typeof mod.options === 'object' ? (mod.options as ServerOptions) : {};
  return { callback: callback as Callback, options };
}
