/**
 * A machine's remote sessions: who, when, how they ended, a replay of each finished recording, and a read-only join
 * of a shell still live (the collector decides who may watch: the permission the session needed).
 */
import { useSignal } from '@preact/signals';
import { lazy, Suspense } from 'preact/compat';
import { useEffect } from 'preact/hooks';
import { Api } from '../../api/client.js';
import type { SessionRecord } from '../../api/types.js';
import { ErrorLine } from '../../components/Layout.js';

const Replay = lazy(() => import('./Replay.js'));
const Terminal = lazy(() => import('./Terminal.js'));

const replayable = (s: SessionRecord) =>
  s.kind === 'shell' && (s.recordingStatus === 'ok' || s.recordingStatus === 'truncated');

export function SessionsTab(props: { agentId: string }) {
  const list = useSignal<SessionRecord[] | null>(null);
  const error = useSignal<unknown>(null);
  const playing = useSignal<string | null>(null);
  const watching = useSignal<string | null>(null);
  useEffect(() => {
    Api.sessions(props.agentId)
      .then((r) => {
        list.value = r.sessions;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, [props.agentId]);
  return (
    <div>
      <ErrorLine error={error.value} />
      {list.value?.length === 0 && <p class="muted">No sessions.</p>}
      {list.value && list.value.length > 0 && (
        <table class="grid" aria-label="Sessions">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Kind</th>
              <th scope="col">Technician</th>
              <th scope="col">Outcome</th>
              <th scope="col">Recording</th>
            </tr>
          </thead>
          <tbody>
            {list.value.map((s) => (
              <tr key={s.id} data-session={s.id}>
                <td>{new Date(s.startedAt).toLocaleString()}</td>
                <td>{`${s.kind}${s.elevated ? ' (elevated)' : ''}${s.path ? ` ${s.path}` : ''}`}</td>
                <td>{s.userEmail}</td>
                <td>
                  {s.live && s.kind === 'shell' ? (
                    <button
                      type="button"
                      aria-label={`Join read-only the session of ${s.userEmail}`}
                      onClick={() => (watching.value = s.id)}
                    >
                      Join read-only
                    </button>
                  ) : null}{' '}
                  {s.live ? 'live' : `${s.outcome ?? '—'}${s.outcomeCode ? ` (${s.outcomeCode})` : ''}`}
                </td>
                <td>
                  {replayable(s) ? (
                    <button type="button" onClick={() => (playing.value = s.id)}>
                      Replay
                    </button>
                  ) : (
                    s.recordingStatus
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {watching.value && (
        <Suspense fallback={<p class="muted">Loading the terminal…</p>}>
          <Terminal
            key={watching.value}
            agentId={props.agentId}
            join={watching.value}
            onClose={() => (watching.value = null)}
          />
        </Suspense>
      )}
      {playing.value && (
        <Suspense fallback={<p class="muted">Loading the player…</p>}>
          <Replay key={playing.value} sessionId={playing.value} onClose={() => (playing.value = null)} />
        </Suspense>
      )}
    </div>
  );
}
