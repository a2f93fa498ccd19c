/**
 * What the primary and its workers tell each other: the worker's
 * configuration in an environment variable (set by `cluster.fork(env)`),
 * and two IPC messages, `ready` (worker → primary, once listening) and
 * `stop` (primary → worker).
 *
 * @module
 */

/** The environment variable that carries a worker's {@link WorkerConfig} as JSON. */
export const CONFIG_ENV = 'REPY_HTTP_CLUSTER';

/** What a worker is told by its primary. */
export interface WorkerConfig {
  /** The address to register on: the primary has replaced port 0 by the port it picked. */
  address: [string, number];
  /** The worker's slot, 0 … workers − 1 (a replacement takes its predecessor's). */
  slot: number;
  /** Module mode: the module's absolute URL. */
  module?: string;
  /** Module mode: server options for `registerCallback` (JSON values only). */
  options?: Record<string, unknown>;
}

/** The IPC messages (a tagged object, so that a user's own messages are left alone). */
export type ClusterMessage =
  | { repyHttpCluster: 'ready'; address: [string, number] }
  | { repyHttpCluster: 'stop' };

/** Whether an IPC message is one of ours, of kind `kind`. */
export function isMessage<K extends ClusterMessage['repyHttpCluster']>(m: unknown, kind: K): m is Extract<ClusterMessage, { repyHttpCluster: K }> {
  return m !== null && typeof m === 'object' && (m as { repyHttpCluster?: unknown }).repyHttpCluster === kind;
}

/** This worker's configuration, or null when the variable is missing or not ours. */
export function readWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig | null {
  const raw = env[CONFIG_ENV];
  if (raw === undefined) return null;
  try {
    const c = JSON.parse(raw) as WorkerConfig;
    if (!Array.isArray(c.address) || typeof c.address[0] !== 'string' || typeof c.address[1] !== 'number' || typeof c.slot !== 'number') return null;
    return c;
  } catch {
    return null;
  }
}
