import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorSpec, errorCodeForClose, OutpostError } from './errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map(
  doc
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const cells = l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|'));
      return [cells[0]!.replace(/`/g, ''), cells.slice(1)] as const;
    }),
);

describe('error catalogue', () => {
  it('docs/errors.md documents exactly the catalogue, field for field', () => {
    expect([...rows.keys()]).toEqual(Object.keys(ERRORS));
    for (const [code, spec] of Object.entries(ERRORS) as [string, ErrorSpec][]) {
      expect(rows.get(code), code).toEqual([
        String(spec.http),
        spec.ws === undefined ? '—' : String(spec.ws),
        spec.message,
        spec.hint,
      ]);
    }
  });

  it('WebSocket close codes are unique and in the application range', () => {
    const codes = (Object.values(ERRORS) as ErrorSpec[]).map((e) => e.ws).filter((c): c is number => c !== undefined);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c >= 4000 && c <= 4999).toBe(true);
    expect(errorCodeForClose(4015)).toBe('OUTPOST_E_AGENT_REVOKED');
    expect(errorCodeForClose(1000)).toBeUndefined();
  });

  it('an OutpostError carries its code, hint, status and cause', () => {
    const cause = new Error('disk full');
    const e = new OutpostError('OUTPOST_E_OUTBOX', { cause, details: { file: '/x' } });
    expect(e).toMatchObject({
      code: 'OUTPOST_E_OUTBOX',
      status: 500,
      hint: ERRORS.OUTPOST_E_OUTBOX.hint,
      details: { file: '/x' },
      cause,
    });
    expect(new OutpostError('OUTPOST_E_RATE_LIMITED').wsCloseCode).toBe(4429);
    expect(new OutpostError('OUTPOST_E_CONFIG_INVALID').wsCloseCode).toBe(4500);
  });
});
