/**
 * Actions on the machines selected in the fleet: run a job (a script of the library, OS patches, a software install
 * or removal) or push an agent update (assign a version). The collector's answer is shown per machine:
 *
 * - a job is ONE request for every selected machine (one job, one audit line, `jobs.run` checked on each client it
 *   touches: a refusal refuses the whole job, as with `outpost jobs run`); its machines' states are then re-read
 *   every second until each is final (the same `GET /api/v1/jobs/:id` the CLI's `jobs show` reads);
 * - an update is one request per machine (`POST /api/v1/agents/:id/update`, as `outpost agents update`): each is
 *   authorised on the machine's client and answers `sent` or `queued`, or its own refusal.
 *
 * Loaded on first selection (its own chunk): most visits to the fleet never select anything.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Api } from '../../api/client.js';
import type { JobSpec, JobView, ScriptInfo } from '../../api/types.js';
import { ErrorLine } from '../../components/Layout.js';

/** Target states after which a machine's answer no longer changes (collector/src/jobs/service.ts `FINAL`). */
const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'interrupted', 'refused', 'cancelled', 'expired']);
const POLL_MS = 1000;
/** Stop re-reading a job after this long (a machine offline for days keeps its job queued). */
const POLL_FOR_MS = 5 * 60_000;

type Kind = 'script' | 'patch' | 'software' | 'update';

/** One machine's answer, as text for a table cell. */
interface Answer {
  agentId: string;
  hostname: string;
  answer: string;
  detail: string;
  ok: boolean;
}

/** A job's target as one answer; a selected machine the job did not target says so. */
function jobAnswers(job: JobView, machines: readonly { id: string; hostname: string }[]): Answer[] {
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

export default function BulkActions(props: { machines: readonly { id: string; hostname: string }[]; onClear(): void }) {
  const kind = useSignal<Kind>('script');
  const scripts = useSignal<ScriptInfo[]>([]);
  const script = useSignal('');
  const scope = useSignal<'all' | 'security'>('security');
  const swAction = useSignal<'install' | 'remove'>('install');
  const packages = useSignal('');
  const version = useSignal('');
  const versions = useSignal<string[]>([]);
  const error = useSignal<unknown>(null);
  const busy = useSignal(false);
  const answers = useSignal<Answer[]>([]);
  const jobId = useSignal<string | null>(null);
  /** The machines the last action went to (the selection may change while their answers come in). */
  const sentTo = useSignal<readonly { id: string; hostname: string }[]>([]);

  useEffect(() => {
    Api.scripts()
      .then((r) => {
        scripts.value = r.scripts;
        if (!script.value && r.scripts[0]) script.value = r.scripts[0].id;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, []);
  // Published versions as suggestions for the update (reading releases is an admin's right: others type it).
  useEffect(() => {
    if (kind.value !== 'update' || versions.value.length > 0) return;
    Api.releases()
      .then((r) => {
        versions.value = [...new Set(r.releases.map((x) => x.version))];
      })
      .catch(() => undefined); // not allowed to list releases: the field stays free text
  }, [kind.value]);
  // Re-reads the job until every machine's answer is final.
  useEffect(() => {
    const id = jobId.value;
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
  }, [jobId.value]);

  const spec = (): JobSpec | undefined => {
    if (kind.value === 'script') return script.value ? { kind: 'script', script: script.value } : undefined;
    if (kind.value === 'patch') return { kind: 'patch', scope: scope.value };
    if (kind.value === 'software') {
      const list = packages.value
        .split(/[\s,]+/)
        .map((p) => p.trim())
        .filter(Boolean);
      return list.length ? { kind: 'software', action: swAction.value, packages: list } : undefined;
    }
    return undefined;
  };

  const submit = async () => {
    error.value = null;
    answers.value = [];
    jobId.value = null;
    sentTo.value = props.machines;
    busy.value = true;
    try {
      if (kind.value === 'update') {
        const v = version.value.trim();
        const out: Answer[] = [];
        for (const m of props.machines) {
          try {
            const r = await Api.assignUpdate(m.id, v);
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
          answers.value = [...out];
        }
        return;
      }
      const s = spec();
      if (!s) throw new Error('Choose what to run first');
      const job = await Api.runJob(
        s,
        props.machines.map((m) => m.id),
      );
      answers.value = jobAnswers(job, props.machines);
      jobId.value = job.id;
    } catch (err) {
      error.value = err;
    } finally {
      busy.value = false;
    }
  };

  const n = props.machines.length;
  return (
    <section class="bulk-panel" aria-labelledby="bulk-title">
      <h2 id="bulk-title">{`Selected machines (${n})`}</h2>
      <form
        class="filters"
        aria-label="Action on the selected machines"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label>
          Action
          <select name="bulk-action" value={kind.value} onChange={(e) => (kind.value = e.currentTarget.value as Kind)}>
            <option value="script">Run a script</option>
            <option value="patch">Install OS patches</option>
            <option value="software">Install or remove software</option>
            <option value="update">Push an agent update</option>
          </select>
        </label>
        {kind.value === 'script' && (
          <label>
            Script
            <select
              name="script"
              required
              value={script.value}
              onChange={(e) => (script.value = e.currentTarget.value)}
            >
              {scripts.value.length === 0 && <option value="">No scripts in the library</option>}
              {scripts.value.map((s) => (
                <option key={s.id} value={s.id}>
                  {`${s.name} v${s.version}${s.signed ? ' (signed)' : ''}`}
                </option>
              ))}
            </select>
          </label>
        )}
        {kind.value === 'patch' && (
          <label>
            Patches
            <select
              name="patch-scope"
              value={scope.value}
              onChange={(e) => (scope.value = e.currentTarget.value as 'all' | 'security')}
            >
              <option value="security">Security updates</option>
              <option value="all">All updates</option>
            </select>
          </label>
        )}
        {kind.value === 'software' && (
          <>
            <label>
              Software
              <select
                name="software-action"
                value={swAction.value}
                onChange={(e) => (swAction.value = e.currentTarget.value as 'install' | 'remove')}
              >
                <option value="install">Install</option>
                <option value="remove">Remove</option>
              </select>
            </label>
            <label>
              Packages
              <input
                name="packages"
                required
                placeholder="htop, curl"
                value={packages.value}
                onInput={(e) => (packages.value = e.currentTarget.value)}
              />
            </label>
          </>
        )}
        {kind.value === 'update' && (
          <label>
            Version
            <input
              name="version"
              required
              list="release-versions"
              placeholder="1.4.0"
              value={version.value}
              onInput={(e) => (version.value = e.currentTarget.value)}
            />
            <datalist id="release-versions">
              {versions.value.map((v) => (
                <option key={v} value={v} />
              ))}
            </datalist>
          </label>
        )}
        <button type="submit" disabled={busy.value}>
          {kind.value === 'update' ? `Push update to ${n}` : `Run on ${n}`}
        </button>
        <button type="button" class="link" onClick={props.onClear}>
          Clear selection
        </button>
      </form>
      <ErrorLine error={error.value} />
      {jobId.value && <p class="muted">{`Job ${jobId.value}`}</p>}
      {answers.value.length > 0 && (
        <table class="grid" aria-label="Answers per machine">
          <thead>
            <tr>
              <th scope="col">Machine</th>
              <th scope="col">Answer</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {answers.value.map((a) => (
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
      )}
    </section>
  );
}
