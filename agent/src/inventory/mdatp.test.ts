/** Microsoft Defender for Endpoint's `mdatp health` (Linux and macOS) on a fixture, and its place in the licences probe. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectLicencesDarwin } from './licences.darwin.js';
import { parseMdatpHealth } from './mdatp.js';
import { defaultInventoryOptions, type ProbeContext } from './probe.js';

const health = readFileSync(fileURLToPath(new URL('./fixtures/mdatp-health.txt', import.meta.url)), 'utf8');

describe('mdatp health', () => {
  it('reads state, definitions and the product expiry (local-time dates, quoted and [managed] values)', () => {
    expect(parseMdatpHealth(health)).toEqual({
      kind: 'antivirus',
      product: 'Microsoft Defender for Endpoint',
      state: 'enabled',
      channel: '',
      enabled: true,
      up_to_date: true,
      definitions_date: new Date(2026, 10, 21, 6, 12, 40).getTime(),
      expires_at: new Date(2026, 11, 3, 0, 0, 0).getTime(),
      version: '101.24092.0004',
    });
  });

  it('passive mode, unlicensed, and output that is not mdatp’s', () => {
    const passive = parseMdatpHealth(
      health.replace(/passive_mode_enabled(\s+): false/, 'passive_mode_enabled$1: true'),
    );
    expect(passive).toMatchObject({ state: 'passive', enabled: false });
    expect(parseMdatpHealth(health.replace(/licensed(\s+): true/, 'licensed$1: false')).state).toBe('unlicensed');
    expect(() => parseMdatpHealth('')).toThrow(expect.objectContaining({ code: 'OUTPOST_E_PROBE_OUTPUT' }));
    expect(() => parseMdatpHealth('mdatp: command not found')).toThrow(
      expect.objectContaining({ code: 'OUTPOST_E_PROBE_OUTPUT' }),
    );
  });

  it('joins XProtect in the macOS licences probe when installed', async () => {
    const ctx: ProbeContext = {
      exec: async (cmd) => (cmd === 'mdatp' ? health : '{"SPInstallHistoryDataType": []}'),
      readText: async () => undefined,
      has: async (cmd) => cmd === 'mdatp',
      options: defaultInventoryOptions,
      now: () => Date.parse('2026-11-22T12:00:00Z'),
    };
    expect((await collectLicencesDarwin(ctx)).map((r) => r.product)).toEqual(['Microsoft Defender for Endpoint']);
  });
});
