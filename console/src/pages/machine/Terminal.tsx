/**
 * A remote shell in the page: xterm.js over the technician WebSocket (`/api/v1/agents/:id/shell`). The browser
 * sends the session cookie with the upgrade and the collector checks the Origin is its own. Output is credited
 * back only once xterm has drawn it; input waits for the agent's credit; the terminal follows the box's size.
 *
 * With `join`, it watches another live session read-only over `/api/v1/sessions/:id/join` (the socket `outpost
 * shell --join` uses; the collector authorises it with the permission the session needed — an elevated shell needs
 * `shell.elevated` — and ignores everything a joiner sends): no keyboard, no resize, no credit (the owner's
 * terminal paces the agent).
 */
import '@xterm/xterm/css/xterm.css';
import { useSignal } from '@preact/signals';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal as XTerm } from '@xterm/xterm';
import { useEffect, useRef } from 'preact/hooks';
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

export default function Terminal(props: { agentId: string; join?: string; onClose(): void }) {
  const readOnly = props.join !== undefined;
  const box = useRef<HTMLDivElement>(null);
  const state = useSignal('connecting…');

  useEffect(() => {
    if (!box.current) return;
    const term = new XTerm({
      cursorBlink: !readOnly,
      disableStdin: readOnly,
      fontSize: 14,
      scrollback: 5000,
      convertEol: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current);
    fit.fit();
    const url = new URL(
      props.join !== undefined
        ? `/api/v1/sessions/${encodeURIComponent(props.join)}/join`
        : `/api/v1/agents/${encodeURIComponent(props.agentId)}/shell`,
      location.href,
    );
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    if (!readOnly) {
      url.searchParams.set('cols', String(term.cols));
      url.searchParams.set('rows', String(term.rows));
    }
    const ws = new WebSocket(url);
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
        // Agent-supplied text (runAs, messages) goes to the status line as text, never as markup.
        if (msg.type === 'session.ready')
          state.value = readOnly ? `watching read-only (runs as ${msg.runAs})` : `connected as ${msg.runAs}`;
        else if (msg.type === 'session.exit') state.value = `ended (exit ${msg.exitCode})`;
        else if (msg.type === 'session.error') state.value = `${msg.code}: ${msg.message}`;
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
      if (!state.value.startsWith('ended') && !state.value.startsWith('OUTPOST_E'))
        state.value = `closed${ev.reason ? `: ${ev.reason}` : ''}`;
    };
    const onData = term.onData((d) => {
      if (readOnly) return;
      pending.push(encoder.encode(d));
      flushInput();
    });
    const onResize = term.onResize(({ cols, rows }) => {
      if (!readOnly && ws.readyState === WebSocket.OPEN)
        ws.send(JSON.stringify({ type: 'session.resize', cols, rows }));
    });
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(box.current);
    term.focus();
    return () => {
      observer.disconnect();
      onData.dispose();
      onResize.dispose();
      // Closing a joiner's socket leaves the session running; only the owner's close ends it.
      if (!readOnly && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'session.close' }));
      ws.close();
      pending = [];
      term.dispose();
    };
  }, [props.agentId, props.join]);

  return (
    <section aria-labelledby="terminal-title" class="terminal">
      <h2 id="terminal-title">{readOnly ? 'Watching a session (read-only)' : 'Terminal'}</h2>
      <p class="muted" role="status" data-testid="terminal-state">
        {state.value}
      </p>
      <div class="xterm-box" ref={box} data-testid="terminal" />
      <button type="button" onClick={props.onClose}>
        {readOnly ? 'Stop watching' : 'Close terminal'}
      </button>
    </section>
  );
}
