/**
 * The safety net in a real agent process: a child node process with the agent's own logger and the net installed as
 * `outpost-agent run` installs it, then a real rejected promise nobody handles, or a real uncaught exception.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs `body` after installing the net in a fresh node process; its exit code, stdout and JSON log lines. */
async function child(body: string): Promise<{ code: number | null; out: string; logs: Record<string, unknown>[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'safety-net-'));
  dirs.push(dir);
  const script = join(dir, 'agent.mts');
  const log = fileURLToPath(new URL('../log.ts', import.meta.url));
  const net = fileURLToPath(new URL('./safety-net.ts', import.meta.url));
  writeFileSync(
    script,
    `import { createLogger } from ${JSON.stringify(log)};
     import { installSafetyNet } from ${JSON.stringify(net)};
     installSafetyNet(createLogger('info'));
     ${body}`,
  );
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const p = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  p.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => p.once('close', (c) => resolve(c)));
  const logs = err
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, out, logs };
}

describe('agent safety net', () => {
  it('logs an unhandled rejection with its stack and keeps the agent running', async () => {
    const r = await child(`
      async function transfer() { throw new Error('file vanished mid-download'); }
      void transfer(); // a stray promise nobody awaits
      Promise.reject('not even an Error');
      setTimeout(() => { process.stdout.write('still serving\\n'); process.exit(0); }, 300);`);
    expect(r.out).toBe('still serving\n');
    expect(r.code).toBe(0);
    const rejections = r.logs.filter((l) => l.event === 'unhandledRejection');
    expect(rejections).toHaveLength(2);
    expect(rejections[0]).toMatchObject({ level: 50, svc: 'outpost-agent', code: 'OUTPOST_E_INTERNAL' });
    const e0 = rejections[0]!.err as { message: string; stack: string };
    expect(e0.message).toBe('file vanished mid-download');
    expect(e0.stack).toContain('at transfer');
    expect((rejections[1]!.err as { message: string }).message).toContain('not even an Error');
  }, 30_000);

  it('keeps an uncaught exception fatal, logged first', async () => {
    const r = await child(`
      setTimeout(() => { throw new Error('corrupt state'); }, 10);
      setTimeout(() => { process.stdout.write('should not run\\n'); }, 2000);`);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const fatal = r.logs.find((l) => l.event === 'uncaughtException');
    expect(fatal).toMatchObject({ level: 60, origin: 'uncaughtException', code: 'OUTPOST_E_INTERNAL' });
    expect((fatal!.err as { stack: string }).stack).toContain('corrupt state');
  }, 30_000);
});
