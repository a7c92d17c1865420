import { describe, expect, it } from 'vitest';
import { agentCapacity, openFilesLimit, ownOpenFilesLimit, reservedFiles } from './capacity.js';

const limits = (soft: string, hard: string) =>
  `Limit                     Soft Limit           Hard Limit           Units     \nMax open files            ${soft}                 ${hard}                 files     \n`;

describe('agent capacity from the open-files limit', () => {
  it('reads the soft and hard limits, unlimited as infinity', () => {
    expect(openFilesLimit(limits('1024', '4096'))).toEqual({ soft: 1024, hard: 4096 });
    expect(openFilesLimit(limits('unlimited', 'unlimited')).soft).toBe(Number.POSITIVE_INFINITY);
    expect(() => openFilesLimit('Max processes 10 10')).toThrow(/Max open files/);
  });

  it('keeps an eighth of the limit for everything else, between 128 and 512 descriptors', () => {
    expect(reservedFiles(256)).toBe(128);
    expect(reservedFiles(1024)).toBe(128);
    expect(reservedFiles(4096)).toBe(512);
    expect(reservedFiles(20_000)).toBe(512);
  });

  it('holds no more agents than the limit leaves, nor than maxAgents', () => {
    expect(agentCapacity(50_000, 1024)).toBe(896);
    expect(agentCapacity(50_000, 20_000)).toBe(19_488);
    expect(agentCapacity(500, 20_000)).toBe(500);
    expect(agentCapacity(50_000, undefined)).toBe(50_000);
    expect(agentCapacity(50_000, Number.POSITIVE_INFINITY)).toBe(50_000);
    expect(agentCapacity(50_000, 40)).toBe(1);
    expect(agentCapacity(50_000, 512)).toBe(384);
  });

  it("reads this process's own limit on Linux", () => {
    const own = ownOpenFilesLimit();
    if (process.platform === 'linux') expect(own).toBeGreaterThan(0);
    else expect(own).toBeUndefined();
  });
});
