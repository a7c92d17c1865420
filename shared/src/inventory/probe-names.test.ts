import { describe, expect, it } from 'vitest';
import { PROBE_NAME_LIST } from './probe-names.js';
import { PROBE_NAMES } from './rows.js';

describe('PROBE_NAME_LIST', () => {
  it('names every probe of PROBE_ROWS, in the same order, and nothing else', () => {
    expect([...PROBE_NAME_LIST]).toEqual(PROBE_NAMES);
  });
});
