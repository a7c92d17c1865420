/**
 * The symlink race on file transfers (issue 17, security 1): a directory inside a file root is swapped, in a tight
 * loop by another process, with a symlink to a directory outside, while hundreds of downloads and uploads run through
 * a real collector to a real agent. No byte of the outside file may ever reach the technician, no file may ever be
 * created outside, and the agent stays up. Before the fix (resolve with realpath, then open by name again) a few
 * hundred transfers served the outside file and created files outside every run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { downloadFile, uploadFile } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { processAlive, type ShellAgent, startShellAgent } from '../support/shell.js';

const ROUNDS = 400;
const PARALLEL = 8;
const SECRET = 'OUTSIDE-SECRET-';
const INSIDE = 'inside-bytes---';

let c: TestCollector;
let agent: ShellAgent;
const dir = tempDir('files-race');
const root = join(dir.path, 'root');
const outside = join(dir.path, 'outside');
const local = join(dir.path, 'local');

beforeAll(async () => {
  c = await startTestCollector();
  for (const d of [join(root, 'd.real'), join(outside, 'd'), local]) mkdirSync(d, { recursive: true });
  writeFileSync(join(outside, 'd', 'secret.txt'), SECRET.repeat(4096));
  writeFileSync(join(root, 'd.real', 'secret.txt'), INSIDE.repeat(4096));
  symlinkSync(join(outside, 'd'), join(root, 'd.link'));
  writeFileSync(join(local, 'upload.txt'), 'uploaded\n');
  agent = await startShellAgent(c, join(dir.path, 'agent'), { fileRoots: [root] });
});
afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** Another process that swaps `root/d` between the real directory and the symlink to outside, as fast as it can. */
function swapper(): { stop(): Promise<number> } {
  const script = `
    const { renameSync } = require('node:fs');
    const r = process.argv[1];
    let swaps = 0;
    const step = (a, b) => { try { renameSync(r + '/' + a, r + '/' + b); swaps++; } catch {} };
    process.on('SIGTERM', () => { step('d', 'd.real'); step('d', 'd.link'); process.stdout.write(String(swaps)); process.exit(0); });
    const loop = () => {
      for (let i = 0; i < 2000; i++) { step('d.real', 'd'); step('d', 'd.real'); step('d.link', 'd'); step('d', 'd.link'); }
      setImmediate(loop);
    };
    loop();`;
  const child = spawn(process.execPath, ['-e', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return Number(out);
    },
  };
}

describe('file transfers under a symlink race', () => {
  it(`never serve or create a file outside the root over ${ROUNDS} downloads and ${ROUNDS} uploads`, async () => {
    const swap = swapper();
    const outcomes = { downloaded: 0, uploaded: 0, refused: new Map<string, number>() };
    const leaks: string[] = [];
    const note = (err: unknown) => {
      const code = (err as { code?: string }).code ?? `uncoded: ${String(err)}`;
      outcomes.refused.set(code, (outcomes.refused.get(code) ?? 0) + 1);
    };
    let next = 0;
    const worker = async () => {
      while (next < ROUNDS) {
        const i = next++;
        const target = join(local, `down-${i}.txt`);
        await downloadFile(c.admin, agent.agentId, join(root, 'd', 'secret.txt'), target).then(
          () => outcomes.downloaded++,
          note,
        );
        // Whatever reached the technician's disk, finished or not, must not hold a byte of the outside file.
        if (existsSync(target) && readFileSync(target, 'utf8').includes('OUTSIDE')) leaks.push(`download ${i}`);
        await uploadFile(c.admin, agent.agentId, join(local, 'upload.txt'), join(root, 'd', `up-${i}.txt`)).then(
          () => outcomes.uploaded++,
          note,
        );
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const swaps = await swap.stop();
    const created = readdirSync(join(outside, 'd')).filter((f) => f !== 'secret.txt');
    console.log(
      `race: ${swaps} swaps, ${outcomes.downloaded} downloads and ${outcomes.uploaded} uploads done, refused:`,
      Object.fromEntries(outcomes.refused),
      `leaked downloads: ${leaks.length}, files created outside: ${created.length}`,
    );
    expect(leaks, 'downloads that served the outside file').toEqual([]);
    expect(created, 'files created outside the root').toEqual([]);
    expect(readFileSync(join(outside, 'd', 'secret.txt'), 'utf8')).toBe(SECRET.repeat(4096));
    // Every failure is a coded refusal of the swapped path; the race really ran both ways.
    for (const code of outcomes.refused.keys())
      expect(['OUTPOST_E_PATH_REFUSED', 'OUTPOST_E_NOT_FOUND']).toContain(code);
    expect(swaps).toBeGreaterThan(10_000);
    expect(outcomes.downloaded).toBeGreaterThan(0);
    expect(outcomes.uploaded).toBeGreaterThan(0);
    expect(outcomes.refused.get('OUTPOST_E_PATH_REFUSED') ?? 0).toBeGreaterThan(0);
    // The agent survived, holds no file or directory of the transfers open, and still serves the root.
    expect(processAlive(agent.proc.child.pid!)).toBe(true);
    const fds = `/proc/${agent.proc.child.pid}/fd`;
    const held = () =>
      readdirSync(fds).filter((fd) => {
        try {
          const target = readlinkSync(join(fds, fd));
          return target.startsWith(root) || target.startsWith(outside);
        } catch {
          return false;
        }
      });
    for (let i = 0; i < 50 && held().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(held()).toEqual([]);
    const after = join(local, 'after.txt');
    await downloadFile(c.admin, agent.agentId, join(root, 'd.real', 'secret.txt'), after);
    expect(readFileSync(after, 'utf8')).toBe(INSIDE.repeat(4096));
  }, 300_000);
});
