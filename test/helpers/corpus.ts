/**
 * Loads the shared conformance corpora (read by path, never copied into the
 * repo) and compares this parser's outcome with llhttp's recorded one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMessages, type ParseOutcome } from '../../src/parser/inspect.js';
import type { ParserOptions } from '../../src/parser/parser.js';

const here = dirname(fileURLToPath(import.meta.url));
/** `../shared/conformance` beside the checkout (or SHARED_DIR). */
export const CONFORMANCE_DIR = resolve(process.env['REPY_HTTP_SHARED'] ?? resolve(here, '../../../shared'), 'conformance');

export interface LlhttpMessage {
  complete: boolean;
  headers_complete: boolean;
  method: string | null;
  url: string;
  version: string | null;
  headers: [string, string][];
  trailers?: [string, string][];
  body_base64: string;
}

export interface LlhttpCase {
  id: string;
  name: string;
  mode: string;
  raw_base64: string;
  raw_latin1: string;
  expect: 'accept' | 'reject' | 'incomplete';
  messages: LlhttpMessage[];
  llhttp_error?: string;
  error_offset?: number;
  upgrade?: { offset: number };
  at_eof?: 'safe' | 'unsafe';
  node20_strict?: { verdict: string };
  harness?: { noScan?: boolean; finish?: boolean; pause?: boolean; skipBody?: boolean };
  tags: string[];
}

/** Reads a JSONL file from the shared conformance folder, or null when absent. */
export function loadJsonl<T>(name: string): T[] | null {
  const file = resolve(CONFORMANCE_DIR, name);
  if (!existsSync(file)) return null;
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

const DROP = ['rtsp', 'icecast', 'other-protocol', 'pause-harness', 'skip-body-harness'];

/** The strict, plain-HTTP cases the issue asks to agree with. */
export function strictCases(all: LlhttpCase[]): LlhttpCase[] {
  return all.filter((c) => c.mode === 'strict' && !c.tags.some((t) => DROP.includes(t)));
}

/** The lenient cases: a strict parser must reject them (their node20_strict verdict). */
export function lenientCases(all: LlhttpCase[]): LlhttpCase[] {
  return all.filter((c) => c.mode !== 'strict' && !c.tags.some((t) => DROP.includes(t)));
}

export type Verdict = 'accept' | 'reject' | 'incomplete';

export function verdictOf(r: ParseOutcome): Verdict {
  if (r.error) return 'reject';
  return r.messages.some((m) => m.complete) ? 'accept' : 'incomplete';
}

/** Field-by-field differences between our messages and llhttp's. */
export function fieldDiffs(c: LlhttpCase, r: ParseOutcome): string[] {
  const diffs: string[] = [];
  const want = c.messages.filter((m) => m.headers_complete);
  const got = r.messages;
  if (c.expect === 'accept' && want.length !== got.length) diffs.push(`message count ${got.length} vs llhttp ${want.length}`);
  const n = Math.min(want.length, got.length);
  for (let k = 0; k < n; k++) {
    const w = want[k]!;
    const g = got[k]!;
    const head = g.head as { method?: string; target?: string; version: string; rawHeaders: [string, string][] };
    if (w.method !== head.method) diffs.push(`[${k}].method ${head.method} vs ${w.method}`);
    if (w.url !== head.target) diffs.push(`[${k}].url ${head.target} vs ${w.url}`);
    if (w.version !== head.version) diffs.push(`[${k}].version ${head.version} vs ${w.version}`);
    if (JSON.stringify(w.headers) !== JSON.stringify(head.rawHeaders)) diffs.push(`[${k}].headers ${JSON.stringify(head.rawHeaders)} vs ${JSON.stringify(w.headers)}`);
    if (w.complete && g.complete) {
      const body = Buffer.from(w.body_base64, 'base64');
      if (!body.equals(g.body)) diffs.push(`[${k}].body ${JSON.stringify(g.body.toString('latin1'))} vs ${JSON.stringify(body.toString('latin1'))}`);
      if (JSON.stringify(w.trailers ?? []) !== JSON.stringify(g.trailers)) diffs.push(`[${k}].trailers ${JSON.stringify(g.trailers)} vs ${JSON.stringify(w.trailers)}`);
    }
    if (w.complete !== g.complete) diffs.push(`[${k}].complete ${g.complete} vs ${w.complete}`);
  }
  if (!!c.upgrade !== r.upgraded) diffs.push(`upgrade ${r.upgraded} vs ${!!c.upgrade}`);
  if (c.upgrade && r.upgraded && c.upgrade.offset !== r.consumed) diffs.push(`upgrade offset ${r.consumed} vs ${c.upgrade.offset}`);
  return diffs;
}

/** Runs one corpus case through our parser. */
export function runCase(c: LlhttpCase, options: ParserOptions & { split?: number; splitAt?: number[] } = {}): ParseOutcome {
  const raw = Buffer.from(c.raw_base64, 'base64');
  return parseMessages(raw, { ...options, eof: !!c.harness?.finish });
}
