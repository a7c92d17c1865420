/** Detection's own timers: the absence sweep runs on its period once started, and never again once stopped. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DetectionEngine } from './engine.js';
import { MemoryIncidentSink } from './memory-sink.js';
import { PolicySet } from './policy.js';
import { DetectionSweeps } from './sweeps.js';

const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);

describe('DetectionSweeps', () => {
  it('opens an absence incident from its own timer, and stops sweeping when stopped', async () => {
    const clock = { t: T0, now: () => clock.t };
    let sweeps = 0;
    const presence = {
      place: async () => ({ clientId: 'cl_1', siteId: 'si_1', hostname: 'pc3' }),
      lastSeen: async () => {
        sweeps++;
        return [{ agentId: 'ag_3', lastSeenAt: T0 - 86_400_000, online: false }];
      },
    };
    const sink = new MemoryIncidentSink();
    const logger = pino({ level: 'silent' });
    const engine = new DetectionEngine({
      sink,
      presence,
      policies: new PolicySet([]),
      clock,
      logger,
      options: {
        heartbeatIntervalMs: 30_000,
      },
    });
    clock.t = T0 + 10 * 30_000; // past the grace a freshly started collector gives every agent
    const timers = new DetectionSweeps(engine, { absenceEveryMs: 10, inventoryEveryMs: 3_600_000 }, logger);
    timers.start();
    try {
      const deadline = Date.now() + 5_000;
      while (!sink.open.has('absence:ag_3') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(sink.open.has('absence:ag_3')).toBe(true);
    } finally {
      timers.stop();
    }
    const after = sweeps;
    // A fixed wait on purpose: proving that nothing happens takes time; ten periods of the stopped timer.
    await new Promise((r) => setTimeout(r, 100));
    expect(sweeps).toBe(after);
  });
});
