/**
 * The commands concern: what each `outpost-agent` command does once cli.ts has parsed its flags. cli.ts loads this
 * module (through load.ts) when a command runs, never for `--version` or `--help`, so everything heavy — the runtime,
 * compiled TypeBox checks, ws, pino, the probes, node-pty — is imported from here and never from cli.ts
 * (docs/0009-packaging.md, "Footprint"). It must never parse flags, and nothing here may be shared with cli.ts by
 * identity (a class checked with `instanceof`): the single executable evaluates this half from its own source.
 */
export { installRun, uninstallRun } from '../install/command.js';
export { inventoryRun } from '../inventory/command.js';
export { enrollCommand } from './enroll.js';
export type { CliGlobals } from './globals.js';
export { requestCommand } from './request.js';
export { runCommand } from './run.js';
export { statusCommand } from './status.js';
export { updateWatchCommand } from './update-watch.js';
