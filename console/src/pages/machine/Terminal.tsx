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
import { connectShell } from './shell-socket.js';

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
    const disconnect = connectShell(term, {
      agentId: props.agentId,
      join: props.join,
      setState: (text) => {
        state.value = text;
      },
      getState: () => state.value,
    });
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(box.current);
    term.focus();
    return () => {
      observer.disconnect();
      disconnect();
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
