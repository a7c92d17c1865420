/**
 * File transfers from the page over the collector's transfer socket (`/api/v1/agents/:id/files`), the same one
 * `outpost cp` uses (collector/src/cli/file-client.ts): `transfer.ready`, data frames under credit on channel 1 (at
 * most one 256 KiB window in flight, frames of 32 KiB at most), an End frame after an upload, `transfer.done` with
 * the size and SHA-256 the agent computed, checked against the browser's own. The collector authorises it
 * (`file.write` / `file.read` on the machine's client, as for the CLI), audits and records it as a session.
 *
 * The browser hashes with WebCrypto, which digests a whole buffer (no streaming), so a file is held in memory:
 * transfers are capped at MAX_BYTES (larger ones belong to `outpost cp`, which streams from disk and resumes).
 */
import { credit, decode, FRAME_CREDIT, FRAME_DATA, FRAME_END, frame, readCredit } from './shell-wire.js';

/** shared/src/protocol/shell.ts: CHANNEL_WINDOW_BYTES and CHANNEL_MAX_FRAME_BYTES. */
const WINDOW = 256 * 1024;
const MAX_FRAME = 32 * 1024;
/** The largest file the page moves (held in memory to be hashed). */
export const MAX_BYTES = 256 * 1024 * 1024;

/** A transfer refused or broken, with the collector's code when it gave one. */
export class TransferError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Progress = (done: number, total: number) => void;

async function sha256Hex(data: ArrayBuffer): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The socket's text and binary messages as events, and its end as a TransferError. */
function openSocket(
  agentId: string,
  query: Record<string, string>,
  on: {
    ready(m: { size: number; offset: number; sessionId: string }): void;
    data?(payload: Uint8Array): void;
    credit?(n: number): void;
  },
): { ws: WebSocket; done: Promise<{ size: number; sha256: string }> } {
  const url = new URL(`/api/v1/agents/${encodeURIComponent(agentId)}/files`, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  let refusal: TransferError | undefined;
  let opened = false;
  const done = new Promise<{ size: number; sha256: string }>((resolve, reject) => {
    ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
      if (typeof ev.data === 'string') {
        let m: { type?: string; size?: number; offset?: number; sessionId?: string; sha256?: string };
        let e: { code?: string; message?: string };
        try {
          m = JSON.parse(ev.data) as typeof m;
          e = m as typeof e;
        } catch {
          return;
        }
        if (m.type === 'transfer.ready') {
          opened = true;
          on.ready({ size: m.size ?? 0, offset: m.offset ?? 0, sessionId: m.sessionId ?? '' });
        } else if (m.type === 'transfer.done') resolve({ size: m.size ?? -1, sha256: m.sha256 ?? '' });
        else if (m.type === 'session.error')
          refusal = new TransferError(e.code ?? 'OUTPOST_E_INTERNAL', e.message ?? 'the transfer failed');
        return;
      }
      const f = decode(ev.data);
      if (!f) {
        ws.close(1002, 'bad frame');
        return;
      }
      if (f.kind === FRAME_DATA) on.data?.(f.payload);
      else if (f.kind === FRAME_CREDIT) on.credit?.(readCredit(f.payload));
    };
    ws.onclose = (ev) => {
      // A refusal before the upgrade (403, 404, agent offline) reaches a browser as a bare close: no status, no body.
      reject(
        refusal ??
          new TransferError(
            ev.reason || 'OUTPOST_E_SESSION_ENDED',
            opened
              ? 'the transfer ended before it completed'
              : 'the collector refused the transfer (not allowed, unknown machine, or offline)',
          ),
      );
    };
  });
  done.catch(() => undefined);
  return { ws, done };
}

/** Uploads `file` to `path` on the machine; resolves with the SHA-256 both sides agree on. */
export async function upload(agentId: string, path: string, file: File, progress: Progress): Promise<string> {
  if (file.size > MAX_BYTES)
    throw new TransferError('OUTPOST_E_BAD_REQUEST', `${file.name} is over ${MAX_BYTES >> 20} MiB: use outpost cp`);
  const body = await file.arrayBuffer();
  const sha256 = await sha256Hex(body);
  let window = WINDOW;
  let wake: (() => void) | undefined;
  let start!: (offset: number) => void;
  const ready = new Promise<number>((r) => (start = r));
  const t = openSocket(
    agentId,
    { direction: 'upload', path, size: String(file.size), sha256 },
    {
      ready: (m) => start(m.offset),
      credit: (n) => {
        window += n;
        wake?.();
      },
    },
  );
  try {
    let pos = await Promise.race([ready, t.done.then(() => 0)]);
    const bytes = new Uint8Array(body);
    progress(pos, file.size);
    while (pos < file.size) {
      while (window < Math.min(MAX_FRAME, file.size - pos)) {
        const why = await Promise.race([
          new Promise<'credit'>((r) => (wake = () => r('credit'))),
          t.done.then(() => 'done' as const),
        ]);
        wake = undefined;
        if (why === 'done')
          throw new TransferError('OUTPOST_E_UNEXPECTED_MESSAGE', 'the agent finished before the upload');
      }
      const n = Math.min(MAX_FRAME, file.size - pos, window);
      t.ws.send(frame(FRAME_DATA, bytes.subarray(pos, pos + n)));
      window -= n;
      pos += n;
      progress(pos, file.size);
    }
    t.ws.send(frame(FRAME_END, new Uint8Array(0)));
    const done = await t.done;
    if (done.sha256 !== sha256)
      throw new TransferError(
        'OUTPOST_E_CHECKSUM_MISMATCH',
        `the page's SHA-256 ${sha256} differs from the agent's ${done.sha256}`,
      );
    return sha256;
  } finally {
    if (t.ws.readyState === WebSocket.OPEN) t.ws.close(1000, 'done');
  }
}

/** Downloads `path` from the machine into memory; resolves with its bytes and their SHA-256 (checked). */
export async function download(
  agentId: string,
  path: string,
  progress: Progress,
): Promise<{ blob: Blob; sha256: string }> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  let total = 0;
  const t = openSocket(
    agentId,
    { direction: 'download', path },
    {
      ready: (m) => {
        total = m.size;
        if (total > MAX_BYTES) t.ws.close(1000, 'too large');
        progress(0, total);
      },
      data: (payload) => {
        chunks.push(payload.slice());
        received += payload.byteLength;
        progress(received, total);
        // Credit back at once: the bytes are in memory, bounded by MAX_BYTES.
        if (t.ws.readyState === WebSocket.OPEN) t.ws.send(credit(payload.byteLength));
      },
    },
  );
  try {
    const done = await t.done.catch((err: unknown) => {
      if (total > MAX_BYTES)
        throw new TransferError('OUTPOST_E_BAD_REQUEST', `the file is over ${MAX_BYTES >> 20} MiB: use outpost cp`);
      throw err;
    });
    const blob = new Blob(chunks as BlobPart[], { type: 'application/octet-stream' });
    const sha256 = await sha256Hex(await blob.arrayBuffer());
    if (sha256 !== done.sha256 || received !== done.size)
      throw new TransferError(
        'OUTPOST_E_CHECKSUM_MISMATCH',
        `received ${received} bytes with SHA-256 ${sha256}; the agent sent ${done.size} with ${done.sha256}`,
      );
    return { blob, sha256 };
  } finally {
    if (t.ws.readyState === WebSocket.OPEN) t.ws.close(1000, 'done');
  }
}
