/** The live hub: each subscriber gets the changes of the clients it may see, a slow one is dropped, not buffered. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type LiveEvent, LiveHub } from './hub.js';

const presence = (clientId: string, agentId: string): LiveEvent => ({
  type: 'agent.presence',
  agentId,
  clientId,
  status: 'offline',
  at: 1,
});

function subscriber(userId: string, clients: string[] | undefined, room = Number.POSITIVE_INFINITY) {
  const got: string[] = [];
  let ended = false;
  return {
    got,
    get ended() {
      return ended;
    },
    sub: {
      userId,
      clients,
      write: (chunk: string) => {
        if (got.length >= room) return false;
        got.push(chunk);
        return true;
      },
      end: () => {
        ended = true;
      },
    },
  };
}

describe('LiveHub', () => {
  it('writes SSE frames only to subscribers whose clients cover the change', () => {
    const hub = new LiveHub(pino({ level: 'silent' }), { perUser: 2, total: 10 });
    const a = subscriber('us_a', ['cl_a']);
    const all = subscriber('us_admin', undefined);
    hub.subscribe(a.sub);
    hub.subscribe(all.sub);
    hub.publish(presence('cl_b', 'ag_b'));
    hub.publish(presence('cl_a', 'ag_a'));
    expect(a.got).toEqual([`event: agent.presence\ndata: ${JSON.stringify(presence('cl_a', 'ag_a'))}\n\n`]);
    expect(all.got).toHaveLength(2);
  });

  it('drops a subscriber that cannot keep up and bounds streams per user and in total', () => {
    const hub = new LiveHub(pino({ level: 'silent' }), { perUser: 2, total: 3 });
    const slow = subscriber('us_a', undefined, 1);
    const unsubscribe = hub.subscribe(slow.sub);
    hub.publish(presence('cl_a', 'ag_1'));
    hub.publish(presence('cl_a', 'ag_2'));
    expect(slow.ended).toBe(true);
    expect(hub.size).toBe(0);
    expect(hub.counters.dropped).toBe(1);
    unsubscribe();
    hub.subscribe(subscriber('us_a', undefined).sub);
    hub.subscribe(subscriber('us_a', undefined).sub);
    expect(hub.admits('us_a')).toBe(false);
    expect(hub.admits('us_b')).toBe(true);
    hub.subscribe(subscriber('us_b', undefined).sub);
    expect(hub.admits('us_c')).toBe(false);
    hub.close();
    expect(hub.size).toBe(0);
  });
});
