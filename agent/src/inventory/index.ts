/**
 * The agent's inventory concern: probes (one file each, platform code in suffixed files, one registry), their runner,
 * the diff against the last reported state, and the scheduler component. It must never read files beside its own
 * code at run time or load modules dynamically (the agent ships as one bundled executable), and never send rows
 * that do not validate against the shared schemas.
 */
export { InventoryComponent, inventoryComponentOptions, type RunSummary } from './component.js';
export { nextState, type PlannedSet, type ProbeState, packSets, planSet } from './diff.js';
export { systemProbeContext } from './exec.js';
export { inventoryJson, inventoryText } from './print.js';
export { defaultInventoryOptions, type InventoryOptions, type Probe, type ProbeContext } from './probe.js';
export { PROBES, probesFor, type RunnableProbe } from './registry.js';
export { type ProbeResult, runProbe, runProbes } from './runner.js';
