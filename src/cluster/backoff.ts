/**
 * How long the primary waits before it forks the replacement of a crashed
 * worker: exponential backoff with a ceiling, so that a worker that dies at
 * once does not spin a core forking, yet one crash after a long healthy run
 * is replaced at once.
 *
 * @module
 */

/**
 * The restart policy of `serveCluster` (milliseconds).
 *
 * @example
 * await serveCluster({ workers: 2, address, module, backoff: { initialDelay: 250, maxDelay: 30_000 } });
 */
export interface BackoffOptions {
  /** The delay before the first restart of a slot (default 100). */
  initialDelay?: number;
  /** The longest delay (default 10 000): the backoff is bounded. */
  maxDelay?: number;
  /** A worker that stayed listening this long resets its slot's count of crashes (default 10 000). */
  resetAfter?: number;
}

/**
 * The defaults of {@link BackoffOptions}.
 *
 * @example restartDelay(3, BACKOFF_DEFAULTS) // 400
 */
export const BACKOFF_DEFAULTS: Readonly<Required<BackoffOptions>> = Object.freeze({ initialDelay: 100, maxDelay: 10_000, resetAfter: 10_000 });

/**
 * The delay before the restart that follows the `crashes`-th consecutive
 * crash of one slot (`crashes` ≥ 1): `initialDelay · 2^(crashes − 1)`,
 * at most `maxDelay`.
 *
 * @example
 * restartDelay(1, BACKOFF_DEFAULTS) // 100
 * restartDelay(4, BACKOFF_DEFAULTS) // 800
 * restartDelay(20, BACKOFF_DEFAULTS) // 10000
 */
export function restartDelay(crashes: number, policy: Readonly<Required<BackoffOptions>>): number {
  // 2^31 already exceeds any sane ceiling: stop doubling there (no Infinity, no overflow).
  const exponent = Math.min(Math.max(crashes, 1) - 1, 31);
  return Math.min(policy.maxDelay, policy.initialDelay * 2 ** exponent);
}
