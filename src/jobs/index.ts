/**
 * `repy-http/jobs`: long runs over HTTP (the longrun protocol): POST starts
 * a run, GET streams its events (Server-Sent Events) or long-polls them,
 * HEAD tells whether it exists, DELETE cancels it. docs/jobs.md.
 *
 * @example
 * import { registerCallback } from 'repy-http';
 * import { jobResource, runJob } from 'repy-http/jobs';
 * const jobs = jobResource({ prefix: '/runs/', run: async (args, job) => { await job.progress(1); return args; } });
 * await registerCallback(['127.0.0.1', 8080], jobs.callback);
 * const value = await runJob('http://127.0.0.1:8080/runs/', { x: 1 }, { onProgress: (e) => console.log(e) });
 *
 * @module
 */

export {
  jobResource, RUN_FAILED,
  type JobResource, type JobResourceOptions, type JobRun, type JobContext,
} from './resource.js';
export { memoryStore, TERMINAL_STATES, type JobStore, type JobEvent, type JobState, type MemoryStoreOptions } from './store.js';
export { runJob, type RunJobOptions, type JobProgress } from './client.js';
export { JobError, JobCanceledError, type JobErrorCode } from './errors.js';
