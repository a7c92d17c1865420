import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutpostError, type SequencedBody } from '@outpost/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'outbox-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const ev = (n: number): SequencedBody => ({
  type: 'stream.event',
  time: 1_700_000_000_000 + n,
  kind: 'test',
  data: { n },
});
const seqs = (o: Outbox) =>
  o.pendingAfter(0, 1e9).map((m) => (m.type === 'stream.gap' ? `gap${m.seq}+${m.count}` : m.seq));

describe('Outbox', () => {
  it('numbers messages 1..n and keeps them across a reopen', async () => {
    const dir = tmp();
    const o = await Outbox.open({ dir });
    for (let i = 1; i <= 5; i++) expect((await o.append(ev(i))).seq).toBe(i);
    await o.close();
    const again = await Outbox.open({ dir });
    expect(seqs(again)).toEqual([1, 2, 3, 4, 5]);
    expect((await again.append(ev(6))).seq).toBe(6);
    await again.close();
  });

  it('forgets acknowledged messages, durably, and keeps numbering after them', async () => {
    const dir = tmp();
    const o = await Outbox.open({ dir });
    for (let i = 1; i <= 5; i++) await o.append(ev(i));
    await o.ack(3);
    expect(seqs(o)).toEqual([4, 5]);
    await o.ack(2); // lower: ignored
    await o.close();
    const again = await Outbox.open({ dir });
    expect(seqs(again)).toEqual([4, 5]);
    await again.ack(5);
    await again.close();
    const third = await Outbox.open({ dir });
    expect(third.stats().pending).toBe(0);
    expect((await third.append(ev(6))).seq).toBe(6);
    await third.close();
  });

  it('discards a torn last line and continues numbering correctly', async () => {
    const dir = tmp();
    const o = await Outbox.open({ dir });
    for (let i = 1; i <= 3; i++) await o.append(ev(i));
    await o.close();
    appendFileSync(join(dir, 'outbox.log'), '0badc0de {"op":"append","msg":{"type":"stream.ev');
    const again = await Outbox.open({ dir });
    expect(seqs(again)).toEqual([1, 2, 3]);
    expect((await again.append(ev(4))).seq).toBe(4);
    await again.close();
    const third = await Outbox.open({ dir });
    expect(seqs(third)).toEqual([1, 2, 3, 4]);
    await third.close();
  });

  it('turns a corrupt middle line into a gap instead of failing', async () => {
    const dir = tmp();
    const o = await Outbox.open({ dir });
    for (let i = 1; i <= 4; i++) await o.append(ev(i));
    await o.close();
    const file = join(dir, 'outbox.log');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"n":2', '"n":9'); // CRC no longer matches
    writeFileSync(file, lines.join('\n'));
    const again = await Outbox.open({ dir, logger: { warn: () => undefined } });
    expect(seqs(again)).toEqual([1, 'gap2+1', 3, 4]);
    expect((await again.append(ev(5))).seq).toBe(5);
    await again.close();
  });

  it('drops the oldest entries beyond maxEntries into one coalesced gap at the head', async () => {
    const dir = tmp();
    const o = await Outbox.open({ dir, maxEntries: 5, logger: { warn: () => undefined } });
    for (let i = 1; i <= 12; i++) await o.append(ev(i));
    const pending = o.pendingAfter(0, 100);
    expect(pending[0]).toMatchObject({ type: 'stream.gap', seq: 1, reason: 'outbox_full' });
    expect(pending).toHaveLength(5);
    const gap = pending[0] as { seq: number; count: number };
    expect(gap.seq + gap.count).toBe(pending[1]!.seq); // contiguous: no hole
    expect(pending.at(-1)!.seq).toBe(12);
    expect(o.stats().droppedTotal).toBe(gap.count);
    await o.close();
    const again = await Outbox.open({ dir, maxEntries: 5 });
    expect(seqs(again)).toEqual(seqs(o));
    expect((await again.append(ev(13))).seq).toBe(13);
    await again.close();
  });

  it('bounds by bytes too', async () => {
    const o = await Outbox.open({ dir: tmp(), maxBytes: 2000, logger: { warn: () => undefined } });
    for (let i = 1; i <= 50; i++) await o.append(ev(i));
    expect(o.stats().pendingBytes).toBeLessThanOrEqual(2000);
    expect(o.pendingAfter(0, 1)[0]!.type).toBe('stream.gap');
    await o.close();
  });

  it('an ack partly covering a gap trims it', async () => {
    const o = await Outbox.open({ dir: tmp(), maxEntries: 3, logger: { warn: () => undefined } });
    for (let i = 1; i <= 10; i++) await o.append(ev(i));
    const gap = o.pendingAfter(0, 1)[0] as { seq: number; count: number };
    await o.ack(gap.seq + 1);
    const trimmed = o.pendingAfter(0, 1)[0] as { type: string; seq: number; count: number };
    expect(trimmed).toMatchObject({ type: 'stream.gap', seq: gap.seq + 2, count: gap.count - 2 });
    expect(o.pendingAfter(gap.seq + gap.count - 1, 10).map((m) => m.seq)).toEqual([9, 10]);
    await o.close();
  });

  it('refuses a collector cursor past the last number it issued, and keeps every message and its numbering', async () => {
    const dir = tmp();
    const o = await Outbox.open({ dir, logger: { warn: () => undefined } });
    for (let i = 1; i <= 3; i++) await o.append(ev(i));
    for (const lastSeq of [4, 40, Number.MAX_SAFE_INTEGER]) {
      const err = await o.syncWithCollector(lastSeq).then(
        () => undefined,
        (e: OutpostError) => e,
      );
      expect(err).toBeInstanceOf(OutpostError);
      expect(err).toMatchObject({
        code: 'OUTPOST_E_BAD_MESSAGE',
        details: { collectorLastSeq: lastSeq, lastIssued: 3 },
      });
    }
    expect(seqs(o)).toEqual([1, 2, 3]);
    expect(o.stats()).toMatchObject({ pending: 3, acked: 0 });
    // The same for an ack past what it issued (a collector acknowledging what it never received).
    await expect(o.ack(4)).rejects.toMatchObject({ code: 'OUTPOST_E_BAD_MESSAGE', details: { from: 'stream.ack' } });
    expect(seqs(o)).toEqual([1, 2, 3]);
    // A cursor it did issue is an acknowledgement as usual.
    await o.syncWithCollector(1);
    expect(seqs(o)).toEqual([2, 3]);
    await o.close();
    const again = await Outbox.open({ dir });
    expect(seqs(again)).toEqual([2, 3]);
    expect((await again.append(ev(4))).seq).toBe(4);
    await again.close();
  });

  it('compacts the log after acknowledgements and keeps its state', async () => {
    const dir = tmp();
    const o = await Outbox.open({ dir, fsync: false });
    const big = 'x'.repeat(2000);
    for (let i = 1; i <= 1000; i++) await o.append({ type: 'stream.event', time: 1, kind: 'test', data: { big } });
    const before = o.fileSize;
    expect(before).toBeGreaterThan(2_000_000);
    await o.ack(998);
    expect(o.fileSize).toBeLessThan(20_000);
    await o.close();
    const again = await Outbox.open({ dir });
    expect(seqs(again)).toEqual([999, 1000]);
    expect((await again.append(ev(1))).seq).toBe(1001);
    await again.close();
  });

  it('gives concurrent appends distinct contiguous numbers', async () => {
    const o = await Outbox.open({ dir: tmp() });
    const out = await Promise.all(Array.from({ length: 500 }, (_, i) => o.append(ev(i))));
    expect(out.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    await o.close();
  });

  it('wakes a waiter on append and rejects it on abort', async () => {
    const o = await Outbox.open({ dir: tmp() });
    const waiting = o.waitForPendingAfter(0);
    await o.append(ev(1));
    await expect(waiting).resolves.toBeUndefined();
    const ac = new AbortController();
    const pending = o.waitForPendingAfter(1, ac.signal);
    ac.abort();
    await expect(pending).rejects.toBeDefined();
    await o.close();
  });

  it('never reuses a sequence number after SIGKILL', async () => {
    const dir = tmp();
    const script = join(dir, 'writer.mts');
    const outboxPath = fileURLToPath(new URL('./outbox.ts', import.meta.url));
    writeFileSync(
      script,
      `import { Outbox } from ${JSON.stringify(outboxPath)};
       const o = await Outbox.open({ dir: ${JSON.stringify(join(dir, 'box'))} });
       for (let i = 0; ; i++) { const m = await o.append({ type: 'stream.event', time: 1, kind: 'test', data: { i } }); process.stdout.write(m.seq + '\\n'); }`,
    );
    // The writer runs in this very process (`node --import tsx`), not under the tsx CLI, which forks a second node:
    // SIGKILL must hit the process that writes, or an orphan keeps appending while the test reopens the outbox.
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 300) resolve();
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const printed = out.split('\n').filter(Boolean).map(Number);
    const o = await Outbox.open({ dir: join(dir, 'box'), logger: { warn: () => undefined } });
    const stored = new Set(o.pendingAfter(0, 1e9).map((m) => m.seq));
    for (const s of printed) expect(stored.has(s)).toBe(true);
    const next = await o.append(ev(0));
    expect(next.seq).toBeGreaterThan(Math.max(...printed));
    await o.close();
  }, 30_000);
});
