/**
 * The cause of the cross-node copy's checksum mismatch (issue 20, docs/0017-nodes.md "Relayed streams"): the collector
 * tells the technician `transfer.ready` as the agent's `file.opened` arrives, then still awaits the session-opened hook
 * (a database query: the agent's open incidents) before the socket route knew the transfer, and dropped every frame
 * that arrived meanwhile. On PostgreSQL under load the technician's first frames came in that gap: the agent wrote the
 * file without its head and the end-to-end SHA-256 check refused it (OUTPOST_E_CHECKSUM_MISMATCH).
 *
 * Here the gap is held open on purpose, with real components: another PostgreSQL session locks the incidents table,
 * so the hook's query waits; the technician sends its whole file, then a WebSocket ping whose pong proves the
 * collector read every frame before it; only then is the lock released and the End frame sent. Every byte must reach
 * the agent's file.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHANNEL_MAX_FRAME_BYTES, CHANNEL_WINDOW_BYTES, encodeFrame, FrameKind } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { freshPostgres, postgresUnavailable, stopPostgresAfterAll } from '../support/postgres.js';
import { type ShellAgent, startShellAgent } from '../support/shell.js';

stopPostgresAfterAll();
const skip = postgresUnavailable;
if (skip) console.warn(`test/e2e/files-open-race.test.ts skipped: ${skip}`);

const dir = tempDir('files-open-race');
const root = join(dir.path, 'root');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let url: string;
let c: TestCollector;
let agent: ShellAgent;

beforeAll(async () => {
  if (skip) return;
  url = await freshPostgres();
  c = await startTestCollector({ storage: { url } } as never);
  mkdirSync(root, { recursive: true });
  agent = await startShellAgent(c, join(dir.path, 'agent'), { fileRoots: [root] });
}, 60_000);
afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** Runs SQL through psql and resolves with its output. */
function psql(sql: string): Promise<string> {
  const p = spawn('psql', [url, '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) =>
    p.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`psql exited ${code}`)))),
  );
}

/** Another session holding an exclusive lock on `table` (reads of it wait) until `release()`. */
async function lockTable(table: string): Promise<{ release(): Promise<void> }> {
  const p = spawn('psql', [url, '-At', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => p.once('exit', resolve));
  let out = '';
  const locked = new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked')) resolve();
    });
    void exited.then((code) => reject(new Error(`psql exited ${code} before locking ${table}`)));
  });
  p.stdin.write(`BEGIN;\nLOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n`);
  await locked;
  return {
    async release() {
      p.stdin.end('COMMIT;\n');
      expect(await exited).toBe(0);
    },
  };
}

describe.skipIf(skip)('an upload whose frames arrive while its open still finishes', () => {
  it('delivers every byte to the agent (none dropped while the session-opened hook waits)', async () => {
    // Within one window: the technician may send it all before any credit comes back.
    const data = randomBytes(CHANNEL_WINDOW_BYTES - 1000);
    const target = join(root, 'raced.bin');
    const lock = await lockTable('incidents');
    let released = false;
    try {
      const path = `/api/v1/agents/${agent.agentId}/files?direction=upload&path=${encodeURIComponent(target)}&size=${data.length}&sha256=${sha(data)}`;
      const ws = new WebSocket(new URL(path, c.apiUrl.replace(/^http/, 'ws')), {
        headers: { authorization: `Bearer ${c.admin.token}` },
        rejectUnauthorized: false,
      });
      const texts: { type: string; code?: string; sha256?: string; size?: number }[] = [];
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      const ready = new Promise<void>((resolve) =>
        ws.on('message', (d, isBinary) => {
          if (isBinary) return;
          const m = JSON.parse(d.toString()) as (typeof texts)[number];
          texts.push(m);
          if (m.type === 'transfer.ready') resolve();
        }),
      );
      await ready;
      for (let at = 0; at < data.length; at += CHANNEL_MAX_FRAME_BYTES)
        ws.send(encodeFrame(FrameKind.Data, 1, data.subarray(at, at + CHANNEL_MAX_FRAME_BYTES)));
      // The pong comes back once the collector parsed the ping, so every frame before it was handed over.
      await new Promise<void>((resolve) => {
        ws.once('pong', () => resolve());
        ws.ping();
      });
      // The open is still held by the lock: the hook's query waits on it.
      await expect
        .poll(async () => Number(await psql('SELECT count(*) FROM pg_locks WHERE NOT granted')), { timeout: 10_000 })
        .toBeGreaterThan(0);
      await lock.release();
      released = true;
      ws.send(encodeFrame(FrameKind.End, 1));
      const code = await closed;
      expect(texts.at(-1)).toEqual({
        type: 'transfer.done',
        sessionId: expect.any(String),
        size: data.length,
        sha256: sha(data),
      });
      expect(code).toBe(1000);
      expect(sha(readFileSync(target))).toBe(sha(data));
    } finally {
      if (!released) await lock.release();
    }
  }, 60_000);
});
