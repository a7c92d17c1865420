/** One inventory probe's rows as a table (software, patches…); every cell is text, whatever the agent sent. */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Api, ApiError } from '../../api/client.js';
import type { InventoryAnswer } from '../../api/types.js';
import { ErrorLine } from '../../components/Layout.js';
import { cell } from '../../format.js';

/** A cell as text; times (`*_at`, `*_date` columns holding epoch ms) as a date. */
function show(column: string, v: unknown): string {
  if (typeof v === 'number' && /(_at|_date|_boot)$/.test(column)) return new Date(v).toISOString().slice(0, 10);
  return cell(v);
}

export function InventoryTable(props: {
  agentId: string;
  probe: string;
  columns: string[];
  label: string;
  /** Only the rows of one kind (the licences probe holds OS activation and antivirus rows). */
  kind?: string;
}) {
  const answer = useSignal<InventoryAnswer | null>(null);
  const error = useSignal<unknown>(null);
  const filter = useSignal('');
  const none = useSignal(false);
  useEffect(() => {
    answer.value = null;
    none.value = false;
    Api.inventory(props.agentId, props.probe)
      .then((a) => {
        answer.value = a;
      })
      .catch((err: unknown) => {
        // A machine that never reported an inventory answers 404: say so plainly, it is not a failure.
        if (err instanceof ApiError && err.code === 'OUTPOST_E_NOT_FOUND') none.value = true;
        else error.value = err;
      });
  }, [props.agentId, props.probe]);
  const probe = answer.value?.probes.find((p) => p.probe === props.probe);
  const needle = filter.value.toLowerCase();
  const all = (probe?.rows ?? []).filter((r) => props.kind === undefined || r.kind === props.kind);
  const rows = all.filter((r) => !needle || props.columns.some((c) => cell(r[c]).toLowerCase().includes(needle)));
  return (
    <div>
      <ErrorLine error={error.value} />
      {(none.value || (answer.value && !probe)) && <p class="muted">No {props.label.toLowerCase()} reported yet.</p>}
      {probe?.errorCode && <p class="error">{`${probe.errorCode}: ${probe.errorMessage ?? ''}`}</p>}
      {probe && (
        <>
          <label>
            Filter{' '}
            <input
              type="search"
              value={filter.value}
              onInput={(e) => {
                filter.value = e.currentTarget.value;
              }}
            />
          </label>
          <p class="muted">{`${rows.length} of ${all.length} rows`}</p>
          <table class="grid" aria-label={props.label}>
            <thead>
              <tr>
                {props.columns.map((c) => (
                  <th key={c} scope="col">
                    {c.replace(/_/g, ' ')}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, 500).map((r, i) => (
                <tr key={i}>
                  {props.columns.map((c) => (
                    <td key={c}>{show(c, r[c])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
