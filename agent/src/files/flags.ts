/** The modes of a transfer's open and their flags, shared by the platform openers. */

/** What the transfer does with the file: read it, create or reuse it to write, or write an existing one only. */
export type OpenMode = 'read' | 'create' | 'update';

/** Open flags for the last component, per mode (never following a link, never blocking on a FIFO or device). */
export function fileFlags(c: typeof import('node:fs').constants, mode: OpenMode, noFollow: number): number {
  const common = noFollow | (c.O_NONBLOCK ?? 0) | (c.O_NOCTTY ?? 0);
  if (mode === 'read') return c.O_RDONLY | common;
  return c.O_RDWR | (mode === 'create' ? c.O_CREAT : 0) | common;
}
