/**
 * The sessions concern's shared types: the settings, who opens a session, and the hook told of each opening. They
 * live apart from the service so the modules that open shells and transfers import them without a cycle.
 */
import type { Actor } from '../auth/index.js';

/** Session settings (config `sessions`). */
export interface SessionsOptions {
  dataDir: string;
  idleTimeoutMs: number;
  maxDurationMs: number;
  recordingFailure: 'refuse' | 'allow';
  openTimeoutMs: number;
  ticketTtlMs: number;
  /** Largest file relayed by a transfer, either way. */
  fileMaxBytes: number;
  /** Technician sockets are pinged this often; one that missed the previous ping is dropped. */
  keepAliveMs: number;
}

/** Who opens a session, on which agent. */
export interface OpenRequest {
  actor: Extract<Actor, { kind: 'user' }>;
  agentId: string;
  clientId: string;
  siteId: string;
  cols: number;
  rows: number;
  elevated: boolean;
  ip: string;
}

/**
 * Told when a session opened on a machine (app.ts wires it to the incidents timeline). Its failure never fails the
 * session.
 */
export type SessionOpenedHook = (
  agentId: string,
  session: { sessionId: string; user: string; kind: 'shell' | 'upload' | 'download' },
) => Promise<unknown>;

/**
 * Where finished recordings are kept for every node when each has its own data directory (docs/0017-nodes.md): the
 * deployment concern's `SharedRecordings`. Absent: the data directory alone, as on a single node.
 */
export interface RecordingShare {
  /** Stores a finished recording, named by its path relative to the data directory (the session row's). */
  put(relPath: string): Promise<void>;
  /** Its bytes (gzip), or undefined when no node stored it. */
  read(relPath: string): Promise<import('node:stream').Readable | undefined>;
}
