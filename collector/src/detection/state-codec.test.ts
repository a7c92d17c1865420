/**
 * The checkpoint codec alone: everything the detectors keep survives encode → decode, entries no version wrote are
 * skipped (not a crash at start), and what an older version wrote still reads.
 */
import { describe, expect, it } from 'vitest';
import { BASELINE_STATE_LENGTH, baselineStep, DEFAULT_BASELINE } from './baseline.js';
import { DetectionState } from './state.js';
import { decodeState, encodeState } from './state-codec.js';

describe('state codec', () => {
  it('round-trips series, rules, checks, absent agents and open inventory findings', () => {
    const a = new DetectionState();
    const s = a.seriesOf('ag_1|cpu.total_pct');
    for (let i = 0; i < 50; i++) baselineStep(s.b, 1_700_000_000_000 + i * 30_000, 40 + (i % 7), DEFAULT_BASELINE);
    Object.assign(s, { open: true, shift: -1, calm: 2, fOpen: true, fT: 5, fX: 71.5, fSlope: 1e-9 });
    a.rules.set('ag_1|cpu.total_pct|>90', { breach: 1_700_000_000_000, clear: -1, open: true });
    a.rules.set('ag_1|mem.used_pct|>95', { breach: -1, clear: -1, open: false }); // nothing to keep
    a.checks.set('ag_1|web', { fails: 3, first: 1_700_000_000_500, open: true });
    a.absent.add('ag_2');
    a.invOpen.add('inventory:ag_1:av-off');

    const b = new DetectionState();
    decodeState(encodeState(a), b);
    expect(b.series.get('ag_1|cpu.total_pct')).toEqual(s);
    expect([...b.rules]).toEqual([['ag_1|cpu.total_pct|>90', { breach: 1_700_000_000_000, clear: -1, open: true }]]);
    expect(b.checks.get('ag_1|web')).toEqual({ fails: 3, first: 1_700_000_000_500, open: true });
    expect([...b.absent]).toEqual(['ag_2']);
    expect([...b.invOpen]).toEqual(['inventory:ag_1:av-off']);
  });

  it('skips bytes no version wrote, and keeps the open incidents of another baseline layout', () => {
    const b = new DetectionState();
    const older = new Float64Array(BASELINE_STATE_LENGTH - 3 + 9); // a baseline three fields shorter
    older[BASELINE_STATE_LENGTH - 3] = 1; // its baseline incident was open
    decodeState(
      new Map([
        ['rule|ag_1|cpu|>1', new Uint8Array(7)],
        ['check|ag_1|x', new Uint8Array(16)],
        ['ag_1|odd', new Uint8Array(13)],
        ['ag_1|short', new Uint8Array(8)],
        ['ag_1|older', new Uint8Array(older.buffer)],
      ]),
      b,
    );
    expect(b.rules.size + b.checks.size).toBe(0);
    expect([...b.series.keys()]).toEqual(['ag_1|older']);
    expect(b.series.get('ag_1|older')?.open).toBe(true);
    expect(b.series.get('ag_1|older')?.b).toHaveLength(BASELINE_STATE_LENGTH); // relearns from a fresh baseline
  });
});
