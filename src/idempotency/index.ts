/**
 * `repy-http/idempotency` (issue #12): the `Idempotency-Key` request field
 * on the server (draft-ietf-httpapi-idempotency-key-header). A request
 * retried with the same key takes effect once; its stored response is
 * replayed. docs/exactly-once.md has the failure points, the store
 * guarantees and the status codes.
 *
 * @example
 * import { registerCallback, json } from 'repy-http';
 * import { idempotent, idempotencyKey, fileStore } from 'repy-http/idempotency';
 * const app = idempotent(async (req) => json({ key: idempotencyKey(req) }, 201), { store: fileStore('./keys.journal') });
 * await registerCallback(['127.0.0.1', 8080], app);
 *
 * @module
 */

export { idempotent, idempotencyKey, IDEMPOTENCY_DEFAULTS, type IdempotencyOptions } from './idempotent.js';
export { memoryStore, MemoryStore, StoreFullError, MEMORY_STORE_DEFAULTS, type MemoryStoreOptions } from './memory-store.js';
export { fileStore, FileStore, type FileStoreOptions, type FileStoreOpened } from './file-store.js';
export { Journal, JournalCorruptError, JournalClosedError, type JournalOpened } from './journal.js';
export { parseKeyField, serializeKey, MAX_KEY_LENGTH, type KeyParse } from './key.js';
export type { IdempotencyStore, BeginResult, StoredRecord, StoredResponse } from './store.js';
