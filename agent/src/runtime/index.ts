/**
 * The runtime concern owns the running agent: it wires identity, config, the outbox and the connection, and
 * implements `enroll`. It must never parse collector frames itself (the connection concern validates them).
 */
export { AgentRuntime, type AgentStatusFile, type RuntimeOptions } from './agent.js';
export type {
  AgentComponent,
  AgentContext,
  CommandContext,
  CommandHandler,
  CommandOf,
  CommandTable,
  CommandType,
} from './commands.js';
export { type EnrollOptions, enroll } from './enroll.js';
export { MEMORY_ADDON, type ReleaseOutcome, releaseSchedule, scheduleMemoryRelease } from './memory-release.js';
export {
  enrollFromRegistry,
  parseRegQuery,
  type RegistryAccess,
  type RegistryEnrollmentOutcome,
  windowsRegistry,
} from './registry-enrollment.js';
export { installSafetyNet } from './safety-net.js';
export { type StopReason, watchStopChannel } from './stop-channel.js';
