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

/** What every llhttp message has, request or response. */
export interface CorpusMessage {
  complete: boolean;
  headers_complete: boolean;
  version: string | null;
  headers: [string, string][];
  trailers?: [string, string][];
  body_base64: string;
}

/**
 * Field-by-field differences between our messages and llhttp's: the count,
 * then per message what `startLine` compares (method and target, or status
 * and reason), the version, the fields, the body, the trailers and whether
 * it completed; then the upgrade point.
 */
export function messageDiffs<M extends CorpusMessage, H extends { version: string; rawHeaders: [string, string][] }>(
  c: { expect: string; messages: M[]; upgrade?: { offset: number } },
  r: ParseOutcome,
  startLine: (w: M, head: H, k: number) => string[],
): string[] {
  const diffs: string[] = [];
  const want = c.messages.filter((m) => m.headers_complete);
  const got = r.messages;
  if (c.expect === 'accept' && want.length !== got.length) diffs.push(`message count ${got.length} vs llhttp ${want.length}`);
  for (let k = 0; k < Math.min(want.length, got.length); k++) {
    const w = want[k]!;
    const g = got[k]!;
    const head = g.head as unknown as H;
    diffs.push(...startLine(w, head, k));
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

/** Field-by-field differences between our request messages and llhttp's. */
export function fieldDiffs(c: LlhttpCase, r: ParseOutcome): string[] {
  return messageDiffs<LlhttpMessage, { method?: string; target?: string; version: string; rawHeaders: [string, string][] }>(c, r, (w, head, k) => [
    ...(w.method !== head.method ? [`[${k}].method ${head.method} vs ${w.method}`] : []),
    ...(w.url !== head.target ? [`[${k}].url ${head.target} vs ${w.url}`] : []),
  ]);
}

/** Runs one corpus case through our parser. */
export function runCase(c: LlhttpCase, options: ParserOptions & { split?: number; splitAt?: number[] } = {}): ParseOutcome {
  const raw = Buffer.from(c.raw_base64, 'base64');
  return parseMessages(raw, { ...options, eof: !!c.harness?.finish });
}
