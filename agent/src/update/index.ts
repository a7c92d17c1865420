/**
 * The update concern owns the agent's self-update (docs/0011-releases.md): verifying signed releases against the
 * root given at install (TUF), the rule that decides whether one may run, staging into the versioned install root,
 * the atomic pointer flip, and the watcher that rolls back. It must never trust the collector for anything but
 * bytes and an assignment, never write a running file, and never delete the running version.
 */
export { UpdateComponent } from './component.js';
export { type DecisionInput, decideUpdate } from './decide.js';
export { CollectorFetcher } from './fetch.js';
export { currentVersion, flipPointer, installRootOf, pruneVersions, versionDir, versionExecutable } from './layout.js';
export { preflight, stageRelease } from './stage.js';
export * from './state.js';
export { DEFAULT_HEALTH_DEADLINE_MS, DEFAULT_MAX_STARTS, swapTo, UPDATE_RESTART_EXIT_CODE } from './swap.js';
export { loadTrustedRoot, updateErrorOf, verifyRelease } from './verify.js';
export { type WatchResult, watchUpdate } from './watch.js';
