/**
 * Replays a session recording in the page: xterm at the recorded size, output events at their recorded pace
 * (silences over half a second shortened, and a speed choice), resize events applied. Loaded on demand, like the
 * terminal.
 */
import '@xterm/xterm/css/xterm.css';
import { useSignal } from '@preact/signals';
import { Terminal as XTerm } from '@xterm/xterm';
import { useEffect, useRef } from 'preact/hooks';
import { Api } from '../../api/client.js';
import { ErrorLine } from '../../components/Layout.js';
import { parseCast } from './asciicast.js';

const MAX_IDLE_S = 0.5;

export default function Replay(props: { sessionId: string; onClose(): void }) {
  const box = useRef<HTMLDivElement>(null);
  const error = useSignal<unknown>(null);
  const state = useSignal('loading…');
  const speed = useSignal(4);

  useEffect(() => {
    if (!box.current) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const term = new XTerm({ fontSize: 13, disableStdin: true, scrollback: 5000 });
    term.open(box.current);
    Api.recording(props.sessionId)
      .then((text) => {
        const cast = parseCast(text);
        term.resize(cast.cols, cast.rows);
        let i = 0;
        const step = () => {
          if (stop) return;
          const e = cast.events[i++];
          if (!e) {
            state.value = `replayed (${cast.events.length} events)`;
            return;
          }
          if (e.kind === 'o') term.write(e.data);
          else {
            const m = /^(\d+)x(\d+)$/.exec(e.data);
            if (m) term.resize(Math.min(500, Number(m[1])), Math.min(200, Number(m[2])));
          }
          const next = cast.events[i];
          const gap = next ? Math.min(MAX_IDLE_S, Math.max(0, next.t - e.t)) : 0;
          timer = setTimeout(step, (gap * 1000) / speed.value);
        };
        state.value = 'playing';
        step();
      })
      .catch((err: unknown) => {
        error.value = err;
        state.value = 'failed';
      });
    return () => {
      stop = true;
      clearTimeout(timer);
      term.dispose();
    };
  }, [props.sessionId]);

  return (
    <section aria-labelledby="replay-title" class="terminal">
      <h3 id="replay-title">Replay</h3>
      <p class="muted" role="status" data-testid="replay-state">
        {state.value}
      </p>
      <label>
        Speed{' '}
        <select value={speed.value} onChange={(e) => (speed.value = Number(e.currentTarget.value))}>
          {[1, 2, 4, 16].map((s) => (
            <option key={s} value={s}>{`${s}×`}</option>
          ))}
        </select>
      </label>
      <ErrorLine error={error.value} />
      <div class="xterm-box replay" ref={box} data-testid="replay" />
      <button type="button" onClick={props.onClose}>
        Close replay
      </button>
    </section>
  );
}
