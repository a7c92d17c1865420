import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CastRecorder, salvageCast } from './recorder.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-cast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CastRecorder', () => {
  it('writes gzip asciicast v2 with timings, input, resizes, and UTF-8 split across frames intact', async () => {
    const fails: Error[] = [];
    const r = CastRecorder.open(join(dir, 'a.cast.gz'), { cols: 80, rows: 24, startedAt: 1000, title: 't' }, (e) =>
      fails.push(e),
    );
    const euro = Buffer.from('€', 'utf8');
    r.output(1500, euro.subarray(0, 1));
    r.output(1600, Buffer.concat([euro.subarray(1), Buffer.from('ok\r\n')]));
    r.input(2000, Buffer.from('ls\r'));
    r.resize(2500, 100, 30);
    expect(await r.close()).toBeGreaterThan(0);
    const lines = gunzipSync(readFileSync(join(dir, 'a.cast.gz')))
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ version: 2, width: 80, height: 24, timestamp: 1 });
    expect(lines.slice(1)).toEqual([
      [0.6, 'o', '€ok\r\n'],
      [1, 'i', 'ls\r'],
      [1.5, 'r', '100x30'],
    ]);
    expect(fails).toEqual([]);
  });

  it('keeps event times monotonic, including output still held by the UTF-8 decoder at close', async () => {
    const r = CastRecorder.open(
      join(dir, 'm.cast.gz'),
      { cols: 80, rows: 24, startedAt: 10_000, title: 't' },
      () => undefined,
    );
    r.output(11_000, Buffer.from('a'));
    r.input(12_000, Buffer.from('x'));
    // A clock stepping back must not produce an earlier time either.
    r.output(11_500, Buffer.from('b'));
    // Ends mid-character: the decoder holds the byte until close writes it.
    r.output(13_000, Buffer.from('c\xe2', 'latin1'));
    await r.close();
    const events = gunzipSync(readFileSync(join(dir, 'm.cast.gz')))
      .toString()
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l) as [number, string, string]);
    const times = events.map((e) => e[0]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times).toEqual([1, 2, 2, 3, 3]);
    expect(events.at(-1)![1]).toBe('o');
  });

  it('refuses to start when the recordings directory cannot be created', () => {
    writeFileSync(join(dir, 'blocker'), 'x');
    expect(() =>
      CastRecorder.open(
        join(dir, 'blocker', 'b.cast.gz'),
        { cols: 1, rows: 1, startedAt: 0, title: '' },
        () => undefined,
      ),
    ).toThrow(/cannot create/);
  });

  it('puts each batch in the file as it goes, so a recording whose writer died can be salvaged', async () => {
    const live = join(dir, 'live.cast.gz');
    const r = CastRecorder.open(live, { cols: 80, rows: 24, startedAt: 0, title: 't' }, () => undefined);
    r.output(100, Buffer.from('first line\r\n'));
    r.input(200, Buffer.from('ls\r'));
    // Longer than the recorder's flush interval: what a writer killed after it would leave.
    await new Promise((res) => setTimeout(res, 150));
    // What a SIGKILL leaves: the file as it is now, with no gzip trailer.
    const dead = join(dir, 'dead.cast.gz');
    copyFileSync(live, dead);
    await r.close();
    expect(salvageCast(dead)).toMatchObject({ events: 2, lastT: 0.2 });
    const lines = gunzipSync(readFileSync(dead)).toString().trim().split('\n');
    expect(lines.slice(1).map((l) => JSON.parse(l))).toEqual([
      [0.1, 'o', 'first line\r\n'],
      [0.2, 'i', 'ls\r'],
    ]);
  });

  it('salvages a cut recording up to its last complete event and refuses one without a header', () => {
    const header = JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 0 });
    const whole = gzipSync(`${header}\n[0.5,"o","kept"]\n[0.7,"o","cut in the mid`);
    // Drop the gzip trailer too, as a writer killed mid-stream would.
    const cut = join(dir, 'cut.cast.gz');
    writeFileSync(cut, whole.subarray(0, whole.byteLength - 8));
    expect(salvageCast(cut)).toMatchObject({ events: 1, lastT: 0.5 });
    expect(gunzipSync(readFileSync(cut)).toString()).toBe(`${header}\n[0.5,"o","kept"]\n`);
    const flushed = gzipSync('{"version":2', { finishFlush: constants.Z_SYNC_FLUSH });
    const noHeader = join(dir, 'no-header.cast.gz');
    writeFileSync(noHeader, flushed);
    expect(salvageCast(noHeader)).toBeUndefined();
    writeFileSync(noHeader, 'not gzip at all');
    expect(salvageCast(noHeader)).toBeUndefined();
  });
});
