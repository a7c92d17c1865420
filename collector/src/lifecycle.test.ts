/** The root's start/stop of what concerns contribute: order kept, a failing stop does not leave the rest running. */
import { describe, expect, it } from 'vitest';
import { type Component, startAll, stopAll } from './lifecycle.js';

describe('lifecycle', () => {
  it('starts in list order, stops in list order, and still stops the rest after one fails', async () => {
    const seen: string[] = [];
    const part = (name: string, failStop = false): Component => ({
      name,
      start: () => void seen.push(`start ${name}`),
      stop: async () => {
        seen.push(`stop ${name}`);
        if (failStop) throw new Error(`${name} would not stop`);
      },
    });
    const parts = [
      part('sessions'),
      { name: 'gateway', stop: () => void seen.push('stop gateway') },
      part('jobs', true),
      part('checkpoint'),
    ];
    startAll(parts);
    const reported: string[] = [];
    const failures = await stopAll(parts, (name) => reported.push(name));
    expect(seen).toEqual([
      'start sessions',
      'start jobs',
      'start checkpoint',
      'stop sessions',
      'stop gateway',
      'stop jobs',
      'stop checkpoint',
    ]);
    expect(reported).toEqual(['jobs']);
    expect(failures.map((e) => (e as Error).message)).toEqual(['jobs would not stop']);
  });
});
