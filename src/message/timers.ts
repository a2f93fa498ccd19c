/**
 * What every timer of the server, the client and the add-ons must know:
 * Node's timers hold at most 2^31-1 ms, and a longer delay fires at once
 * (with a warning) instead of never. A timeout above this is "no timeout".
 *
 * @module
 */

/**
 * The longest delay `setTimeout` holds, in milliseconds (about 24.8 days).
 *
 * @example const t = ms <= MAX_TIMER ? setTimeout(fire, ms) : null; // beyond: no timer at all
 */
export const MAX_TIMER = 0x7fffffff;
