/**
 * Incidents as a table with live SLA countdowns (response until acknowledged, then resolution) and a technician's
 * actions: acknowledge, take (assign to me), escalate with a reason, resolve with a note — one ticket at a time or,
 * in the queue, on the selected ones. Used by the queue, the incident page and the machine page.
 */
import { type Signal, useSignal } from '@preact/signals';
import { Api } from '../../api/client.js';
import type { Incident } from '../../api/types.js';
import { now } from '../../clock.js';
import { ErrorLine, Link } from '../../components/Layout.js';
import { countdown } from '../../format.js';

/** The SLA clock that matters now, as text and a state for colour. */
function slaOf(i: Incident, t: number): { text: string; state: 'ok' | 'soon' | 'breached' | 'none' } {
  if (!i.sla || i.status === 'resolved' || i.status === 'closed') return { text: '—', state: 'none' };
  const responding = i.status === 'open';
  const due = responding ? i.sla.responseDue : i.sla.resolutionDue;
  const breached = responding ? i.sla.responseBreachedAt : i.sla.resolutionBreachedAt;
  const what = responding ? 'response' : 'resolution';
  // A ticket paused by a technician (waiting on the customer): the clock is stopped, so what is left stays still.
  if (i.paused) {
    const target = responding ? i.sla.responseTargetMs : i.sla.resolutionTargetMs;
    return {
      text: `${what} ${countdown(target - i.sla.consumedMs)} (paused: waiting)`,
      state: breached !== null ? 'breached' : 'ok',
    };
  }
  if (due === null) return { text: `${what}: clock paused`, state: 'ok' };
  const left = due - t;
  const paused = i.sla.running ? '' : ' (paused: outside coverage)';
  return {
    text: `${what} ${countdown(left)}${paused}`,
    state: breached !== null || left < 0 ? 'breached' : left < 15 * 60_000 ? 'soon' : 'ok',
  };
}

function ResolveForm(props: { incident: Incident; onDone(i: Incident): void }) {
  const note = useSignal('');
  const error = useSignal<unknown>(null);
  const id = `note-${props.incident.id}`;
  return (
    <form
      class="resolve"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          props.onDone(await Api.resolve(props.incident.id, note.value, 'fixed'));
        } catch (err) {
          error.value = err;
        }
      }}
    >
      <label for={id}>Resolution note</label>
      <input
        id={id}
        required
        value={note.value}
        onInput={(e) => {
          note.value = e.currentTarget.value;
        }}
      />
      <button type="submit">Resolve</button>
      <ErrorLine error={error.value} />
    </form>
  );
}

/** What the list's rows share: who is being escalated or resolved, the reason typed, and the action runners. */
interface ListState {
  resolving: Signal<string | null>;
  escalating: Signal<string | null>;
  reason: Signal<string>;
  selected: Signal<ReadonlySet<string>>;
  /** Runs one ticket's action, showing its error. */
  one(run: () => Promise<Incident>): Promise<void>;
  onChange(i: Incident): void;
}

/** The list's shared state; `one` reports its error in `error`. */
function useListState(onChange: (i: Incident) => void, error: Signal<unknown>): ListState {
  return {
    resolving: useSignal<string | null>(null),
    escalating: useSignal<string | null>(null),
    reason: useSignal(''),
    selected: useSignal<ReadonlySet<string>>(new Set()),
    one: async (run) => {
      try {
        onChange(await run());
        error.value = null;
      } catch (err) {
        error.value = err;
      }
    },
    onChange,
  };
}

const live = (i: Incident) => i.status === 'open' || i.status === 'acknowledged';

export function IncidentList(props: {
  /** Titles link to the incident's page (not on that page itself). */
  linkTitles?: boolean;
  /** Rows get a checkbox and the list a bulk "acknowledge selected" action (the queue). */
  bulk?: boolean;
  incidents: Incident[];
  onChange(i: Incident): void;
  hostnames?: Map<string, string>;
}) {
  const error = useSignal<unknown>(null);
  const state = useListState(props.onChange, error);
  /**
   * One request per ticket: each is authorised and audited on its own; the failures are reported, not hidden.
   * `only` skips the selected tickets the action does not apply to (acknowledging an acknowledged one).
   */
  const onSelected = async (verb: string, run: (id: string) => Promise<Incident>, only?: (i: Incident) => boolean) => {
    const failures: string[] = [];
    for (const id of state.selected.value) {
      const i = props.incidents.find((x) => x.id === id);
      if (!i || (only && !only(i))) continue;
      try {
        props.onChange(await run(id));
      } catch (err) {
        failures.push(`${i.title}: ${(err as Error).message}`);
      }
    }
    state.selected.value = new Set();
    error.value = failures.length ? new Error(`Not ${verb}: ${failures.join('; ')}`) : null;
  };
  const t = now.value;
  if (props.incidents.length === 0) return <p class="muted">No incidents.</p>;
  return (
    <>
      <ErrorLine error={error.value} />
      {props.bulk && <BulkBar state={state} onSelected={onSelected} />}
      <table class="grid" aria-label="Incidents">
        <thead>
          <tr>
            {props.bulk && (
              <th scope="col">
                <span class="visually-hidden">Select</span>
              </th>
            )}
            <th scope="col">Priority</th>
            <th scope="col">Tier</th>
            <th scope="col">Title</th>
            <th scope="col">Status</th>
            <th scope="col">Assignee</th>
            <th scope="col">SLA</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.incidents.map((i) => (
            <IncidentRow
              key={i.id}
              i={i}
              t={t}
              bulk={props.bulk === true}
              linkTitles={props.linkTitles !== false}
              state={state}
            />
          ))}
        </tbody>
      </table>
    </>
  );
}

/** The queue's actions on the selected tickets: acknowledge, take, escalate with a reason. */
function BulkBar({
  state,
  onSelected,
}: {
  state: ListState;
  onSelected(verb: string, run: (id: string) => Promise<Incident>, only?: (i: Incident) => boolean): Promise<void>;
}) {
  const { selected, reason } = state;
  return (
    <fieldset class="filters bulk">
      <legend class="visually-hidden">Selected incidents</legend>
      <button
        type="button"
        disabled={selected.value.size === 0}
        onClick={() => onSelected('acknowledged', Api.ack, (i) => i.status === 'open')}
      >
        {`Acknowledge selected (${selected.value.size})`}
      </button>
      <button type="button" disabled={selected.value.size === 0} onClick={() => onSelected('taken', Api.take)}>
        Take selected
      </button>
      <label>
        Escalation reason
        <input name="bulk-reason" value={reason.value} onInput={(e) => (reason.value = e.currentTarget.value)} />
      </label>
      <button
        type="button"
        disabled={selected.value.size === 0 || !reason.value.trim()}
        onClick={async () => {
          await onSelected('escalated', (id) => Api.escalate(id, reason.value.trim()));
          reason.value = '';
        }}
      >
        Escalate selected
      </button>
    </fieldset>
  );
}

/** One ticket: priority, tier, title (and why), status, assignee, SLA countdown, actions. */
function IncidentRow({
  i,
  t,
  bulk,
  linkTitles,
  state,
}: {
  i: Incident;
  t: number;
  bulk: boolean;
  linkTitles: boolean;
  state: ListState;
}) {
  const sla = slaOf(i, t);
  const toggle = (on: boolean) => {
    const next = new Set(state.selected.value);
    if (on) next.add(i.id);
    else next.delete(i.id);
    state.selected.value = next;
  };
  return (
    <tr data-incident={i.id}>
      {bulk && (
        <td>
          <input
            type="checkbox"
            aria-label={`Select ${i.title}`}
            disabled={!live(i)}
            checked={state.selected.value.has(i.id)}
            onChange={(e) => toggle(e.currentTarget.checked)}
          />
        </td>
      )}
      <td>
        <span class={`crit ${i.criticality}`}>{i.criticality}</span>
      </td>
      <td>{i.tier}</td>
      <td>
        {linkTitles ? (
          <Link href={`/incidents/${encodeURIComponent(i.id)}`} class="title">
            {i.title}
          </Link>
        ) : (
          <span class="title">{i.title}</span>
        )}
        <details>
          <summary>Why</summary>
          <p class="explanation">{i.explanation}</p>
        </details>
      </td>
      <td data-testid="status">
        {i.status}
        {i.escalationLevel > 0 ? ` · escalated ${i.escalationLevel}` : ''}
      </td>
      <td data-testid="assignee">{i.assigneeName ?? i.assignee ?? '—'}</td>
      <td>
        <span class={`sla ${sla.state}`} data-testid="sla">
          {sla.text}
        </span>
      </td>
      <td class="actions">
        <RowActions i={i} state={state} />
      </td>
    </tr>
  );
}

/** A ticket's own actions: acknowledge, take, escalate (with a reason), resolve (with a note). */
function RowActions({ i, state }: { i: Incident; state: ListState }) {
  const { one, escalating, resolving, reason } = state;
  return (
    <>
      {i.status === 'open' && (
        <button type="button" onClick={() => one(() => Api.ack(i.id))}>
          Acknowledge
        </button>
      )}
      {live(i) && (
        <button type="button" aria-label={`Take ${i.title}`} onClick={() => one(() => Api.take(i.id))}>
          Take
        </button>
      )}
      {live(i) &&
        (escalating.value === i.id ? (
          <form
            class="resolve"
            onSubmit={async (e) => {
              e.preventDefault();
              await one(() => Api.escalate(i.id, reason.value.trim()));
              escalating.value = null;
              reason.value = '';
            }}
          >
            <label for={`reason-${i.id}`}>Escalation reason</label>
            <input
              id={`reason-${i.id}`}
              required
              value={reason.value}
              onInput={(e) => (reason.value = e.currentTarget.value)}
            />
            <button type="submit">Escalate</button>
          </form>
        ) : (
          <button type="button" onClick={() => (escalating.value = i.id)}>
            Escalate…
          </button>
        ))}
      {live(i) &&
        (resolving.value === i.id ? (
          <ResolveForm
            incident={i}
            onDone={(r) => {
              resolving.value = null;
              state.onChange(r);
            }}
          />
        ) : (
          <button
            type="button"
            onClick={() => {
              resolving.value = i.id;
            }}
          >
            Resolve…
          </button>
        ))}
    </>
  );
}
