import { describe, expect, it } from 'vitest';
import { EscapeFilter } from './escape.js';

/** Feeds the chunks in order; returns what was sent and whether a disconnect was asked. */
function run(...chunks: string[]): { sent: string; disconnect: boolean } {
  const f = new EscapeFilter();
  let sent = '';
  for (const c of chunks) {
    const r = f.filter(Buffer.from(c, 'latin1'));
    sent += r.send.toString('latin1');
    if (r.disconnect) return { sent, disconnect: true };
  }
  return { sent, disconnect: false };
}

describe('EscapeFilter (~. ends the session, as in ssh)', () => {
  it.each([
    ['first keys of the session', ['~.'], '', true],
    ['after Enter (CR)', ['ls\r~.'], 'ls\r', true],
    ['after a line feed', ['ls\n', '~', '.'], 'ls\n', true],
    ['split over reads', ['echo\r~', '.junk'], 'echo\r', true],
    ['inside a line', ['cd ~.'], 'cd ~.', false],
    ['a path at line start', ['~/bin\r'], '~/bin\r', false],
    ['~~ sends one ~', ['~~.'], '~.', false],
    ['~ then another key', ['~x'], '~x', false],
    ['~ then Enter, then ~.', ['~\r~.'], '~\r', true],
  ])('%s', (_name, chunks, sent, disconnect) => {
    expect(run(...chunks)).toEqual({ sent, disconnect });
  });

  it('holds a lone ~ at the start of a line until the next key', () => {
    const f = new EscapeFilter();
    expect(f.filter(Buffer.from('~')).send.length).toBe(0);
    expect(f.filter(Buffer.from('a')).send.toString()).toBe('~a');
  });

  it('passes binary input through untouched when it has no escape', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => (i === 0x7e ? 0x41 : i)));
    const r = new EscapeFilter().filter(bytes);
    expect(r).toEqual({ send: bytes, disconnect: false });
  });
});
