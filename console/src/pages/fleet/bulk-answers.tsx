/** Bulk actions' answers per machine: a job's target states (re-read until final) and update assignments. */
import type { Signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Api } from '../../api/client.js';
import type { JobView } from '../../api/types.js';

/** Target states after which a machine's answer no longer changes (collector/src/jobs/service.ts `FINAL`). */
const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'interrupted', 'refused', 'cancelled', 'expired']);
const POLL_MS = 1000;
/** Stop re-reading a job after this long (a machine offline for days keeps its job queued). */
const POLL_FOR_MS = 5 * 60_000;

/** A machine as the fleet selected it. */
export type Machine = { id: string; hostname: string };

/** One machine's answer, as text for a table cell. */
export interface Answer {
  agentId: string;
  hostname: string;
  answer: string;
  detail: string;
  ok: boolean;
}

/** A job's target as one answer; a selected machine the job did not target says so. */
export function jobAnswers(job: JobView, machines: readonly Machine[]): Answer[] {
  return machines.map((m) => {
    const t = job.targets.find((x) => x.agentId === m.id);
    if (!t)
      return {
        agentId: m.id,
        hostname: m.hostname,
        answer: 'not targeted',
        detail: 'revoked, or outside the job',
        ok: false,
      };
    const exit = t.exitCode === null ? '' : `exit ${t.exitCode}`;
    const out = (t.outputTail || t.outputHead).trim().split('\n').slice(-1)[0] ?? '';
    return {
      agentId: m.id,
      hostname: m.hostname,
      answer: t.state,
      detail: [exit, t.reason, out].filter(Boolean).join(' · '),
      ok: !['failed', 'timed_out', 'interrupted', 'refused', 'expired'].includes(t.state),
    };
  });
}

/** One update request per machine, each authorised on its own client; `progress` sees the answers so far. */
export async function assignUpdates(
  machines: readonly Machine[],
  version: string,
  progress: (answers: Answer[]) => void,
): Promise<void> {
  const out: Answer[] = [];
  for (const m of machines) {
    try {
      const r = await Api.assignUpdate(m.id, version);
      out.push({
        agentId: m.id,
        hostname: m.hostname,
        answer: r.sent ? 'sent' : 'queued',
        detail: r.sent ? `version ${r.version} sent to the agent` : `version ${r.version}, sent when it connects`,
        ok: true,
      });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      out.push({
        agentId: m.id,
        hostname: m.hostname,
        answer: e.code ?? 'refused',
        detail: e.message ?? '',
        ok: false,
      });
    }
    progress([...out]);
  }
}

/** Re-reads job `jobId` every second until every machine's answer is final (or five minutes pass). */
export function useJobPolling(
  jobId: string | null,
  sentTo: Signal<readonly Machine[]>,
  answers: Signal<Answer[]>,
  error: Signal<unknown>,
): void {
  useEffect(() => {
    const id = jobId;
    if (!id) return;
    const until = Date.now() + POLL_FOR_MS;
    let stop = false;
    const tick = async () => {
      if (stop) return;
      try {
        const job = await Api.job(id);
        if (stop) return;
        answers.value = jobAnswers(job, sentTo.value);
        if (job.targets.every((t) => FINAL.has(t.state)) || Date.now() > until) return;
      } catch (err) {
        error.value = err;
        return;
      }
      setTimeout(() => void tick(), POLL_MS);
    };
    const first = setTimeout(() => void tick(), POLL_MS);
    return () => {
      stop = true;
      clearTimeout(first);
    };
  }, [jobId]);
}

/** The table of answers per machine. */
export function AnswersTable({ answers }: { answers: readonly Answer[] }) {
  return (
    <table class="grid" aria-label="Answers per machine">
      <thead>
        <tr>
          <th scope="col">Machine</th>
          <th scope="col">Answer</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        {answers.map((a) => (
          <tr key={a.agentId} data-agent={a.agentId}>
            <td>{a.hostname}</td>
            <td>
              <span class={a.ok ? 'answer ok' : 'answer bad'} data-testid="answer">
                {a.answer}
              </span>
            </td>
            <td data-testid="detail">{a.detail}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
