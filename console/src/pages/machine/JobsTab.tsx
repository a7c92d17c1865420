/** The machine's jobs (patches, software, scripts: its own target's state) and its agent updates (phases). */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Api } from '../../api/client.js';
import type { JobSummary, UpdateStatus } from '../../api/types.js';
import { ErrorLine } from '../../components/Layout.js';

export function JobsTab(props: { agentId: string }) {
  const jobs = useSignal<JobSummary[] | null>(null);
  const updates = useSignal<UpdateStatus[] | null>(null);
  const error = useSignal<unknown>(null);
  useEffect(() => {
    Promise.all([Api.machineJobs(props.agentId), Api.machineUpdates(props.agentId)])
      .then(([j, u]) => {
        jobs.value = j.jobs;
        updates.value = [...u.statuses].sort((a, b) => b.time - a.time);
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, [props.agentId]);
  return (
    <>
      <ErrorLine error={error.value} />
      <h3>Jobs</h3>
      {jobs.value?.length === 0 && <p class="muted">No job ran on this machine.</p>}
      {jobs.value && jobs.value.length > 0 && (
        <table class="grid" aria-label="Jobs">
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Job</th>
              <th scope="col">By</th>
              <th scope="col">Job status</th>
              <th scope="col">On this machine</th>
            </tr>
          </thead>
          <tbody>
            {jobs.value.map((j) => (
              <tr key={j.id}>
                <td>{new Date(j.createdAt).toLocaleString()}</td>
                <td>{j.what}</td>
                <td>{j.createdBy}</td>
                <td>{j.status}</td>
                <td data-testid="target-state">{Object.keys(j.counts).join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Agent updates</h3>
      {updates.value?.length === 0 && <p class="muted">No update reported by this agent.</p>}
      {updates.value && updates.value.length > 0 && (
        <table class="grid" aria-label="Agent updates">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Phase</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {updates.value.map((u) => (
              <tr key={u.seq}>
                <td>{new Date(u.time).toLocaleString()}</td>
                <td>{u.phase}</td>
                <td>{u.from}</td>
                <td>{u.to}</td>
                <td>{[u.code, u.reason].filter(Boolean).join(': ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
