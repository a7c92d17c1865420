/**
 * The outbox's on-disk format: an append-only log of CRC-checked lines, one record each.
 *
 *   <crc32 hex> {"op":"append","msg":{…seq…}}   a numbered message
 *   <crc32 hex> {"op":"ack","seq":N}            the collector committed everything ≤ N
 *   <crc32 hex> {"op":"drop","seq":S,"count":C} S..S+C-1 were dropped because the outbox was full
 *
 * A torn or corrupt line is skipped on replay; an unterminated last line is a torn write.
 */
import { crc32 } from 'node:zlib';
import type { SequencedMessage } from '@outpost/shared';

/** One log record. */
export type LogRecord =
  | { op: 'append'; msg: SequencedMessage }
  | { op: 'ack'; seq: number }
  | { op: 'drop'; seq: number; count: number };

/** A record as one terminated line with its checksum. */
export const encodeLine = (rec: LogRecord): string => {
  const json = JSON.stringify(rec);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
};

/** The record of one line (without its newline), or undefined when the line is torn or corrupt. */
export function decodeLine(line: string): LogRecord | undefined {
  if (line.length < 10 || line[8] !== ' ') return undefined;
  const json = line.slice(9);
  if (crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) return undefined;
  try {
    const rec = JSON.parse(json) as LogRecord;
    if (rec.op === 'append' && typeof rec.msg?.seq === 'number') return rec;
    if ((rec.op === 'ack' || rec.op === 'drop') && Number.isSafeInteger(rec.seq)) return rec;
  } catch {
    // A CRC collision on garbage is astronomically unlikely; treat it like any corrupt line.
  }
  return undefined;
}

/** A whole log read back: its good records in order, how many lines were skipped, and where the last good one ends. */
export interface ParsedLog {
  records: LogRecord[];
  corrupt: number;
  /** Bytes up to the end of the last good line (what the file holds when nothing was corrupt). */
  goodBytes: number;
}

/** Parses a whole log's text. */
export function parseLog(text: string): ParsedLog {
  const records: LogRecord[] = [];
  let goodBytes = 0;
  let offset = 0;
  let corrupt = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const isLast = i === lines.length - 1;
    offset += Buffer.byteLength(line) + (isLast ? 0 : 1);
    if (isLast && line === '') break;
    const rec = isLast ? undefined : decodeLine(line); // an unterminated last line is a torn write
    if (!rec) {
      corrupt++;
      continue;
    }
    goodBytes = offset;
    records.push(rec);
  }
  return { records, corrupt, goodBytes };
}

/**
 * The text of a compacted log: the ack record, then one line per pending entry (a gap as its drop record). The
 * entries are contiguous from `acked + 1`, so replaying it restores the next sequence number exactly.
 */
export function compactedLog(acked: number, pending: readonly SequencedMessage[]): string {
  return [encodeLine({ op: 'ack', seq: acked })]
    .concat(
      pending.map((msg) =>
        msg.type === 'stream.gap'
          ? encodeLine({ op: 'drop', seq: msg.seq, count: msg.count })
          : encodeLine({ op: 'append', msg }),
      ),
    )
    .join('');
}
