/**
 * `repy-http/inspector`: a live page showing how each request's bytes
 * become the request dictionary (docs/inspector.md).
 *
 * @example
 * import { registerCallback } from 'repy-http';
 * import { withInspector } from 'repy-http/inspector';
 * const insp = withInspector(app);
 * await registerCallback(['127.0.0.1', 8080], insp.callback, { onRaw: insp.onRaw });
 * // open http://127.0.0.1:8080/_inspect/
 *
 * @module
 */

export { withInspector, recordJson, INSPECTOR_CSP, type Inspector, type InspectorOptions } from './inspector.js';
export { Recorder, plainDict, type ExchangeRecord, type RecordedBytes, type RecorderOptions } from './recorder.js';
export { loadAssets, type Asset } from './assets.js';
