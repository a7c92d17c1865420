/**
 * The agent's request desk on a real Unix socket, driven by the real client half of `outpost-agent request`: a request
 * is stamped with this process's OS user and a snapshot and handed to the outbox; the collector's `request.state`
 * brings the ticket number back to the waiting user (or the user hears "queued"); one user past the hourly limit is
 * refused (OUTPOST_E_REQUEST_THROTTLED) and nothing more reaches the outbox; a status without a collector session
 * answers OUTPOST_E_REQUEST_UNAVAILABLE, an unknown ticket OUTPOST_E_NOT_FOUND.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { SequencedBody } from '@outpost/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchange } from '../commands/request.js';
import type { AgentConfig } from '../config/index.js';
import { systemClock } from '../time.js';
import { RequestsComponent } from './component.js';
import { channelPaths } from './paths.js';

const root = mkdtempSync(join(tmpdir(), 'outpost-desk-'));
const reported: SequencedBody[] = [];
let desk: RequestsComponent;
/** What the stand-in collector answers to the next request (undefined: it stays silent). */
let answer: string | undefined;
const socket = channelPaths(join(root, 'run')).socket;
const before = process.env.OUTPOST_AGENT_REQUEST_DIR;

beforeAll(async () => {
  process.env.OUTPOST_AGENT_REQUEST_DIR = join(root, 'run');
  desk = new RequestsComponent({ ticketWaitMs: 300, maxPerHour: 2 });
  await desk.start({
    config: { stateDir: root } as AgentConfig,
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    // The outbox port: records what would go to the collector, which answers with the ticket when told to.
    report: async (body) => {
      reported.push(body);
      if (body.type === 'request.file' && answer) {
        const id = answer;
        setImmediate(() =>
          desk.state({
            type: 'request.state',
            ref: body.ref,
            ticket: { id, status: 'open', title: 'Workstation request', updatedAt: Date.now() },
          }),
        );
      }
      return reported.length;
    },
  });
});

afterAll(async () => {
  await desk?.stop();
  if (before === undefined) delete process.env.OUTPOST_AGENT_REQUEST_DIR;
  else process.env.OUTPOST_AGENT_REQUEST_DIR = before;
  rmSync(root, { recursive: true, force: true });
});

describe('the request desk', () => {
  it("stamps the OS user and a snapshot, and gives the user the collector's ticket number", async () => {
    answer = 'in_0123456789ab';
    const r = await exchange(socket, { op: 'file', text: 'printer offline' }, 10_000);
    expect(r).toMatchObject({ ok: true, user: userInfo().username, ticket: { id: 'in_0123456789ab' } });
    const sent = reported.at(-1)!;
    expect(sent).toMatchObject({ type: 'request.file', text: 'printer offline', user: { name: userInfo().username } });
    if (sent.type !== 'request.file') throw new Error('not a request');
    expect(sent.user.uid).toBe(process.getuid!());
    expect(sent.snapshot.memory.totalBytes).toBeGreaterThan(0);
  });

  it('tells the user the request is queued when the collector does not answer in time', async () => {
    answer = undefined;
    const r = await exchange(socket, { op: 'file', text: 'screen black' }, 10_000);
    expect(r).toMatchObject({ ok: true, ticket: null });
    expect((r as { ref: string }).ref).toMatch(/^r_/);
  });

  it('refuses a user past the hourly limit, without reporting anything', async () => {
    const n = reported.length;
    const r = await exchange(socket, { op: 'file', text: 'again' }, 10_000);
    expect(r).toMatchObject({ ok: false, code: 'OUTPOST_E_REQUEST_THROTTLED' });
    expect(reported.length).toBe(n);
  });

  it('answers a status without a collector session as unavailable, and an unknown ticket as not found', async () => {
    expect(await exchange(socket, { op: 'status', ticket: 'in_0123456789ab' }, 10_000)).toMatchObject({
      ok: false,
      code: 'OUTPOST_E_REQUEST_UNAVAILABLE',
    });
    expect(await exchange(socket, { op: 'status', ticket: 'in_ffffffffffff' }, 10_000)).toMatchObject({
      ok: false,
      code: 'OUTPOST_E_NOT_FOUND',
    });
  });
});
