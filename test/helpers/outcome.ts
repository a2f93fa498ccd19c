/** Shared by the table tests: a stable picture of a parse outcome. */
import type { ParseOutcome } from '../../src/parser/inspect.js';

/**
 * Everything a parse produced (error with offset, heads, bodies, trailers,
 * completeness, where it stopped) as one string, to compare a parse fed at
 * split points with the whole parse.
 */
export function normOutcome(r: ParseOutcome): string {
  return JSON.stringify({
    e: r.error?.toJSON() ?? null,
    m: r.messages.map((m) => ({ h: m.head, b: m.body.toString('latin1'), t: m.trailers, c: m.complete })),
    u: r.upgraded,
    c: r.consumed,
    p: r.partial,
  });
}
