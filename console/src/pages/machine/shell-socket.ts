/**
 * The terminal's socket: the shell (or a read-only join) over the technician WebSocket, with the flow control of
 * shell-wire.ts — output credited back once xterm has drawn it, input sent only within the agent's credit.
 */
import type { Terminal as XTerm } from '@xterm/xterm';
import {
  CREDIT_BATCH,
  credit,
  decode,
  FRAME_CREDIT,
  FRAME_DATA,
  frame,
  INPUT_WINDOW,
  readCredit,
  type ServerMessage,
} from './shell-wire.js';

/** Which session to open (`join` watches a live one read-only) and where its status line goes. */
export interface ShellTarget {
  agentId: string;
  join?: string | undefined;
  setState(text: string): void;
  getState(): string;
}

/** The socket URL: a new shell sized as the terminal, or a join. */
function shellUrl(t: ShellTarget, term: XTerm): URL {
  const url = new URL(
    t.join !== undefined
      ? `/api/v1/sessions/${encodeURIComponent(t.join)}/join`
      : `/api/v1/agents/${encodeURIComponent(t.agentId)}/shell`,
    location.href,
  );
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (t.join === undefined) {
    url.searchParams.set('cols', String(term.cols));
    url.searchParams.set('rows', String(term.rows));
  }
  return url;
}

/** The status line for a control message. Agent-supplied text (runAs, messages) is text, never markup. */
function statusOf(msg: ServerMessage, readOnly: boolean): string | undefined {
  if (msg.type === 'session.ready')
    return readOnly ? `watching read-only (runs as ${msg.runAs})` : `connected as ${msg.runAs}`;
  if (msg.type === 'session.exit') return `ended (exit ${msg.exitCode})`;
  if (msg.type === 'session.error') return `${msg.code}: ${msg.message}`;
  return undefined;
}

/** Opens the session in `term`; returns what ends it (the owner's close ends the session, a joiner's only leaves). */
export function connectShell(term: XTerm, t: ShellTarget): () => void {
  const readOnly = t.join !== undefined;
  const ws = new WebSocket(shellUrl(t, term));
  ws.binaryType = 'arraybuffer';
  const encoder = new TextEncoder();
  let inputCredit = INPUT_WINDOW;
  let pending: Uint8Array[] = [];
  let toGrant = 0;

  const flushInput = () => {
    while (pending.length && ws.readyState === WebSocket.OPEN) {
      const head = pending[0]!;
      if (head.byteLength > inputCredit) return;
      inputCredit -= head.byteLength;
      pending.shift();
      ws.send(frame(FRAME_DATA, head));
    }
  };
  const grant = (n: number) => {
    if (readOnly) return;
    toGrant += n;
    // Batches keep grants rare during bulk output; a small remainder goes at once so a quiet prompt is never held.
    if (ws.readyState === WebSocket.OPEN && (toGrant >= CREDIT_BATCH || n < 4096)) {
      ws.send(credit(toGrant));
      toGrant = 0;
    }
  };
  ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
    if (typeof ev.data === 'string') {
      let msg: ServerMessage;
      try {
        msg = JSON.parse(ev.data) as ServerMessage;
      } catch {
        return;
      }
      const status = statusOf(msg, readOnly);
      if (status !== undefined) t.setState(status);
      return;
    }
    const f = decode(ev.data);
    if (!f) {
      ws.close(1002, 'bad frame');
      return;
    }
    if (f.kind === FRAME_DATA) {
      const n = f.payload.byteLength;
      term.write(f.payload.slice(), () => grant(n));
    } else if (f.kind === FRAME_CREDIT) {
      inputCredit += readCredit(f.payload);
      flushInput();
    }
  };
  ws.onclose = (ev) => {
    const now = t.getState();
    if (!now.startsWith('ended') && !now.startsWith('OUTPOST_E'))
      t.setState(`closed${ev.reason ? `: ${ev.reason}` : ''}`);
  };
  const onData = term.onData((d) => {
    if (readOnly) return;
    pending.push(encoder.encode(d));
    flushInput();
  });
  const onResize = term.onResize(({ cols, rows }) => {
    if (!readOnly && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'session.resize', cols, rows }));
  });
  return () => {
    onData.dispose();
    onResize.dispose();
    // Closing a joiner's socket leaves the session running; only the owner's close ends it.
    if (!readOnly && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'session.close' }));
    ws.close();
    pending = [];
  };
}
