/**
 * Incidents as a table with live SLA countdowns (response until acknowledged, then resolution) and a technician's
 * actions: acknowledge, take (assign to me), escalate with a reason, resolve with a note — one ticket at a time or,
 * in the queue, on the selected ones. Used by the queue, the incident page and the machine page.
 */
import { useSignal } from '@preact/signals';
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
  const resolving = useSignal<string | null>(null);
  const selected = useSignal<ReadonlySet<string>>(new Set());
  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected.value);
    if (on) next.add(id);
    else next.delete(id);
    selected.value = next;
  };
  const escalating = useSignal<string | null>(null);
  const reason = useSignal('');
  /**
   * One request per ticket: each is authorised and audited on its own; the failures are reported, not hidden.
   * `only` skips the selected tickets the action does not apply to (acknowledging an acknowledged one).
   */
  const onSelected = async (verb: string, run: (id: string) => Promise<Incident>, only?: (i: Incident) => boolean) => {
    const failures: string[] = [];
    for (const id of selected.value) {
      const i = props.incidents.find((x) => x.id === id);
      if (!i || (only && !only(i))) continue;
      try {
        props.onChange(await run(id));
      } catch (err) {
        failures.push(`${i.title}: ${(err as Error).message}`);
      }
    }
    selected.value = new Set();
    error.value = failures.length ? new Error(`Not ${verb}: ${failures.join('; ')}`) : null;
  };
  const one = async (run: () => Promise<Incident>) => {
    try {
      props.onChange(await run());
      error.value = null;
    } catch (err) {
      error.value = err;
    }
  };
  const live = (i: Incident) => i.status === 'open' || i.status === 'acknowledged';
  const t = now.value;
  if (props.incidents.length === 0) return <p class="muted">No incidents.</p>;
  return (
    <>
      <ErrorLine error={error.value} />
      {props.bulk && (
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
      )}
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
          {props.incidents.map((i) => {
            const sla = slaOf(i, t);
            return (
              <tr key={i.id} data-incident={i.id}>
                {props.bulk && (
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${i.title}`}
                      disabled={!live(i)}
                      checked={selected.value.has(i.id)}
                      onChange={(e) => toggle(i.id, e.currentTarget.checked)}
                    />
                  </td>
                )}
                <td>
                  <span class={`crit ${i.criticality}`}>{i.criticality}</span>
                </td>
                <td>{i.tier}</td>
                <td>
                  {props.linkTitles === false ? (
                    <span class="title">{i.title}</span>
                  ) : (
                    <Link href={`/incidents/${encodeURIComponent(i.id)}`} class="title">
                      {i.title}
                    </Link>
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
                  {(i.status === 'open' || i.status === 'acknowledged') &&
                    (resolving.value === i.id ? (
                      <ResolveForm
                        incident={i}
                        onDone={(r) => {
                          resolving.value = null;
                          props.onChange(r);
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
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
