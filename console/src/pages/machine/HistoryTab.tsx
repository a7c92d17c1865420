/**
 * Change history: what the inventory saw change on the machine (software installed, removed, upgraded; hardware;
 * licence and antivirus state), newest first, over the last 90 days. Subjects and values are agent strings: text.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Api } from '../../api/client.js';
import type { InventoryChange } from '../../api/types.js';
import { ErrorLine } from '../../components/Layout.js';
import { cell } from '../../format.js';

/** A before/after value as one short line. */
function value(v: unknown): string {
  if (v && typeof v === 'object' && 'version' in v) return cell((v as { version: unknown }).version);
  const s = cell(v);
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

export function HistoryTab(props: { agentId: string }) {
  const changes = useSignal<InventoryChange[] | null>(null);
  const error = useSignal<unknown>(null);
  useEffect(() => {
    Api.history(props.agentId, Date.now() - 90 * 86_400_000)
      .then((r) => {
        changes.value = [...r.changes].sort((a, b) => b.time - a.time);
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, [props.agentId]);
  return (
    <>
      <ErrorLine error={error.value} />
      {changes.value?.length === 0 && <p class="muted">No change recorded in 90 days.</p>}
      {changes.value && changes.value.length > 0 && (
        <table class="grid" aria-label="Change history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Change</th>
              <th scope="col">What</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {changes.value.slice(0, 500).map((c) => (
              <tr key={c.id}>
                <td>{new Date(c.time).toLocaleString()}</td>
                <td>{c.kind.replace(/_/g, ' ')}</td>
                <td>{c.subject}</td>
                <td>{value(c.before)}</td>
                <td>{value(c.after)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
