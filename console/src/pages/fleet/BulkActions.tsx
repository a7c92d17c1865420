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
import type { JobSpec, ScriptInfo } from '../../api/types.js';
import { ErrorLine } from '../../components/Layout.js';
import { BulkFields, type BulkForm, type Kind } from './BulkFields.js';
import { type Answer, AnswersTable, assignUpdates, jobAnswers, type Machine, useJobPolling } from './bulk-answers.js';

/** The job the form describes, or undefined while it is incomplete (an update is not a job). */
function jobSpec(f: BulkForm): JobSpec | undefined {
  if (f.kind.value === 'script') return f.script.value ? { kind: 'script', script: f.script.value } : undefined;
  if (f.kind.value === 'patch') return { kind: 'patch', scope: f.scope.value };
  if (f.kind.value === 'software') {
    const list = f.packages.value
      .split(/[\s,]+/)
      .map((p) => p.trim())
      .filter(Boolean);
    return list.length ? { kind: 'software', action: f.swAction.value, packages: list } : undefined;
  }
  return undefined;
}

/** The form's signals, with the script library and (for admins) the published versions loaded. */
function useBulkForm(error: { value: unknown }): BulkForm {
  const f: BulkForm = {
    kind: useSignal<Kind>('script'),
    scripts: useSignal<ScriptInfo[]>([]),
    script: useSignal(''),
    scope: useSignal<'all' | 'security'>('security'),
    swAction: useSignal<'install' | 'remove'>('install'),
    packages: useSignal(''),
    version: useSignal(''),
    versions: useSignal<string[]>([]),
  };
  useEffect(() => {
    Api.scripts()
      .then((r) => {
        f.scripts.value = r.scripts;
        if (!f.script.value && r.scripts[0]) f.script.value = r.scripts[0].id;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, []);
  // Published versions as suggestions for the update (reading releases is an admin's right: others type it).
  useEffect(() => {
    if (f.kind.value !== 'update' || f.versions.value.length > 0) return;
    Api.releases()
      .then((r) => {
        f.versions.value = [...new Set(r.releases.map((x) => x.version))];
      })
      .catch(() => undefined); // not allowed to list releases: the field stays free text
  }, [f.kind.value]);
  return f;
}

export default function BulkActions(props: { machines: readonly Machine[]; onClear(): void }) {
  const error = useSignal<unknown>(null);
  const f = useBulkForm(error);
  const busy = useSignal(false);
  const answers = useSignal<Answer[]>([]);
  const jobId = useSignal<string | null>(null);
  /** The machines the last action went to (the selection may change while their answers come in). */
  const sentTo = useSignal<readonly Machine[]>([]);
  useJobPolling(jobId.value, sentTo, answers, error);

  const submit = async () => {
    error.value = null;
    answers.value = [];
    jobId.value = null;
    sentTo.value = props.machines;
    busy.value = true;
    try {
      if (f.kind.value === 'update') {
        await assignUpdates(props.machines, f.version.value.trim(), (a) => (answers.value = a));
        return;
      }
      const s = jobSpec(f);
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
          <select
            name="bulk-action"
            value={f.kind.value}
            onChange={(e) => (f.kind.value = e.currentTarget.value as Kind)}
          >
            <option value="script">Run a script</option>
            <option value="patch">Install OS patches</option>
            <option value="software">Install or remove software</option>
            <option value="update">Push an agent update</option>
          </select>
        </label>
        <BulkFields f={f} />
        <button type="submit" disabled={busy.value}>
          {f.kind.value === 'update' ? `Push update to ${n}` : `Run on ${n}`}
        </button>
        <button type="button" class="link" onClick={props.onClear}>
          Clear selection
        </button>
      </form>
      <ErrorLine error={error.value} />
      {jobId.value && <p class="muted">{`Job ${jobId.value}`}</p>}
      {answers.value.length > 0 && <AnswersTable answers={answers.value} />}
    </section>
  );
}
