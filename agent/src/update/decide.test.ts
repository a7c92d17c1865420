import { describe, expect, it } from 'vitest';
import { decideUpdate } from './decide.js';

const base = { platform: 'linux-x64', running: '1.2.0', highest: '1.2.0' as string | undefined };
const custom = (version: string, extra: object = {}) => ({ version, platform: 'linux-x64', ...extra });

describe('the update decision rule', () => {
  it('installs a newer signed version for this platform', () => {
    expect(decideUpdate({ ...base, assigned: '1.3.0', custom: custom('1.3.0') })).toBeUndefined();
    expect(decideUpdate({ ...base, assigned: '1.10.0', custom: custom('1.10.0') })).toBeUndefined();
  });

  it('refuses an older or equal version unless it was signed as a rollback target', () => {
    expect(decideUpdate({ ...base, assigned: '1.1.9', custom: custom('1.1.9') })?.code).toBe(
      'OUTPOST_E_UPDATE_DOWNGRADE',
    );
    expect(decideUpdate({ ...base, assigned: '1.2.0', custom: custom('1.2.0') })?.code).toBe(
      'OUTPOST_E_UPDATE_DOWNGRADE',
    );
    expect(
      decideUpdate({ ...base, assigned: '1.1.9', custom: custom('1.1.9', { rollbackAllowed: true }) }),
    ).toBeUndefined();
  });

  it('measures "newer" against the highest version ever run, not only the running one', () => {
    // Rolled back locally from 1.4.0 to 1.2.0: 1.3.0 is newer than what runs but older than what has run.
    const r = decideUpdate({ ...base, highest: '1.4.0', assigned: '1.3.0', custom: custom('1.3.0') });
    expect(r?.code).toBe('OUTPOST_E_UPDATE_DOWNGRADE');
    expect(r?.message).toContain('1.4.0');
    expect(decideUpdate({ ...base, highest: '1.4.0', assigned: '1.4.1', custom: custom('1.4.1') })).toBeUndefined();
  });

  it('orders pre-releases before their release', () => {
    expect(decideUpdate({ ...base, assigned: '1.3.0-rc.1', custom: custom('1.3.0-rc.1') })).toBeUndefined();
    expect(
      decideUpdate({
        ...base,
        running: '1.3.0',
        highest: '1.3.0',
        assigned: '1.3.0-rc.2',
        custom: custom('1.3.0-rc.2'),
      })?.code,
    ).toBe('OUTPOST_E_UPDATE_DOWNGRADE');
  });

  it('refuses a target signed for another platform or another version than assigned', () => {
    expect(
      decideUpdate({ ...base, assigned: '1.3.0', custom: { version: '1.3.0', platform: 'linux-arm64' } })?.code,
    ).toBe('OUTPOST_E_UPDATE_NO_TARGET');
    expect(decideUpdate({ ...base, assigned: '1.3.0', custom: custom('1.4.0') })?.code).toBe(
      'OUTPOST_E_UPDATE_NO_TARGET',
    );
  });
});
