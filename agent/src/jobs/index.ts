/**
 * Jobs (docs/0010-jobs.md): runs scripts, OS patches and software installs the collector sends, at most once each
 * (journal), with a deadline, bounded output and a reboot policy. It must never run a job its journal already knows,
 * never build a shell line from a job's fields (argv only), and never run an unsigned script when the configuration
 * requires signatures.
 */
export { JobsComponent, type JobsOptions } from './component.js';
export { JobJournal, type JournalEntry } from './journal.js';
export { BoundedOutput } from './output.js';
export * from './plans.js';
