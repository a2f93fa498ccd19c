/**
 * The default `isStatic`: which request paths are assets rather than steps
 * of a dialogue (Continuity lets the mapper decide which requests are static
 * content; this is its default policy).
 *
 * @module
 */

/**
 * Lower-case extensions (without the dot) of the paths that bypass sessions by default.
 *
 * @example STATIC_EXTENSIONS.has('css') // true
 */
export const STATIC_EXTENSIONS: ReadonlySet<string> = new Set([
  'css', 'js', 'mjs', 'map', 'png', 'jpg', 'jpeg', 'gif', 'svg', 'ico', 'webp', 'avif',
  'woff', 'woff2', 'ttf', 'otf', 'eot', 'mp3', 'mp4', 'webm', 'wasm', 'pdf',
]);

/**
 * Whether `path` ends in one of {@link STATIC_EXTENSIONS} (its last segment
 * has a dot followed by such an extension, any case). `/favicon.ico` and
 * `/app.js` are static, `/`, `/guess` and `/a.b/c` are not.
 *
 * @example isStaticPath('/img/Logo.PNG') // true
 */
export function isStaticPath(path: string): boolean {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot <= slash || dot === path.length - 1) return false;
  return STATIC_EXTENSIONS.has(path.slice(dot + 1).toLowerCase());
}
