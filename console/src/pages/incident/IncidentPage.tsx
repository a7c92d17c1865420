/**
 * One incident: what it is and why (the detector's explanation), its SLA clock, the machines, a readable timeline
 * (the same sentences as `outpost incidents show`), comments, and the acknowledge / resolve actions. A user's request
 * also shows who asked, through which channel, their words and the related detection tickets on the machine.
 */
import { type Signal, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
// The CLI's sentences for timeline entries: a pure function, shared so the console and the CLI say the same.
import { describeEvent } from '../../../../collector/src/cli/timeline.js';
import { Api } from '../../api/client.js';
import type { Incident, RequestView, TimelineEntry } from '../../api/types.js';
import { isGlobalAdmin } from '../../can.js';
import { ErrorLine, Layout, Link } from '../../components/Layout.js';
import { currentUser } from '../../session.js';
import { IncidentList } from '../incidents/IncidentList.js';
import { TicketActions } from './TicketActions.js';

export function IncidentPage(props: { id: string }) {
  const incident = useSignal<Incident | null>(null);
  const timeline = useSignal<TimelineEntry[]>([]);
  const names = useSignal<Record<string, string>>({});
  const error = useSignal<unknown>(null);
  const request = useSignal<RequestView | null>(null);
  const load = () =>
    Api.incident(props.id)
      .then((r) => {
        incident.value = r.incident;
        timeline.value = r.timeline;
        names.value = r.names;
        // Detection and technicians' tickets have no request behind them: nothing to ask for.
        if (!['detection', 'technician'].includes(r.incident.channel))
          Api.incidentRequest(props.id)
            .then((v) => (request.value = v))
            .catch(() => (request.value = null));
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  useEffect(() => {
    void load();
  }, [props.id]);
  /** Runs an action on the ticket, then reads it again; an error shows above. */
  const act = async (run: () => Promise<unknown>) => {
    try {
      await run();
      await load();
    } catch (err) {
      error.value = err;
    }
  };

  const i = incident.value;
  return (
    <Layout>
      <p>
        <Link href="/incidents">← Incidents</Link>
      </p>
      <ErrorLine error={error.value} />
      {i && (
        <>
          <h1>{i.title}</h1>
          <p class="explanation">{i.explanation}</p>
          <Overview i={i} />
          {request.value && <RequestSection r={request.value} />}
          <IncidentList incidents={[i]} onChange={() => void load()} linkTitles={false} />
          <TicketActions incident={i} onChange={() => void load()} />
          <AssignForm i={i} act={act} error={error} />
          <h2>Timeline</h2>
          <ol class="timeline" aria-label="Timeline">
            {timeline.value.map((e) => (
              <li key={e.id}>
                <time dateTime={new Date(e.at).toISOString()}>{new Date(e.at).toLocaleString()}</time>{' '}
                <span class="actor">{e.actor}</span>{' '}
                <span class="what">{describeEvent(e.kind, e.data, names.value)}</span>
              </li>
            ))}
          </ol>
          <CommentForm i={i} act={act} isRequest={request.value !== null} />
        </>
      )}
    </Layout>
  );
}

/** Type, channel, failure time, tier, assignee and machines. */
function Overview({ i }: { i: Incident }) {
  return (
    <dl class="overview">
      <dt>Type</dt>
      <dd>{i.type}</dd>
      <dt>Channel</dt>
      <dd data-testid="channel">{i.channel}</dd>
      <dt>Failure</dt>
      <dd>{new Date(i.failureTime).toLocaleString()}</dd>
      <dt>Tier</dt>
      <dd data-testid="tier">{`tier ${i.tier}${i.paused ? ' · SLA paused' : ''}`}</dd>
      <dt>Assignee</dt>
      <dd>{i.assigneeName ?? i.assignee ?? 'nobody'}</dd>
      <dt>Machines</dt>
      <dd>
        {i.agentIds.length === 0
          ? '—'
          : i.agentIds.map((id) => (
              <span key={id}>
                <Link href={`/machines/${encodeURIComponent(id)}`}>{id}</Link>{' '}
              </span>
            ))}
      </dd>
    </dl>
  );
}

/** Who the ticket can be given to: the user list is an admin's (others take the ticket themselves). */
function AssignForm({
  i,
  act,
  error,
}: {
  i: Incident;
  act(run: () => Promise<unknown>): Promise<void>;
  error: Signal<unknown>;
}) {
  const people = useSignal<{ id: string; label: string }[]>([]);
  const assignTo = useSignal('');
  useEffect(() => {
    if (!isGlobalAdmin(currentUser.value)) return;
    Api.users()
      .then((r) => {
        people.value = r.users.filter((u) => !u.disabled).map((u) => ({ id: u.id, label: `${u.name} <${u.email}>` }));
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, []);
  if (people.value.length === 0) return null;
  return (
    <form
      class="resolve"
      aria-label="Assign"
      onSubmit={async (ev) => {
        ev.preventDefault();
        await act(() => Api.assign(i.id, assignTo.value));
      }}
    >
      <label for="assign-to">Assign to</label>
      <select id="assign-to" required value={assignTo.value} onChange={(e) => (assignTo.value = e.currentTarget.value)}>
        <option value="">Choose…</option>
        {people.value.map((p) => (
          <option key={p.id} value={p.id}>
            {p.label}
          </option>
        ))}
      </select>
      <button type="submit">Assign</button>
    </form>
  );
}

/** A comment for the timeline; on a user's request it may be for the requester (their self-service page shows it). */
function CommentForm({
  i,
  act,
  isRequest,
}: {
  i: Incident;
  act(run: () => Promise<unknown>): Promise<void>;
  isRequest: boolean;
}) {
  const comment = useSignal('');
  const forRequester = useSignal(false);
  return (
    <form
      class="resolve"
      onSubmit={async (ev) => {
        ev.preventDefault();
        await act(async () => {
          await Api.comment(i.id, comment.value, forRequester.value && isRequest);
          comment.value = '';
          forRequester.value = false;
        });
      }}
    >
      <label for="comment">Comment</label>
      <input
        id="comment"
        required
        maxLength={10_000}
        value={comment.value}
        onInput={(e) => {
          comment.value = e.currentTarget.value;
        }}
      />
      {isRequest && (
        <label>
          <input
            type="checkbox"
            checked={forRequester.value}
            onChange={(e) => {
              forRequester.value = e.currentTarget.checked;
            }}
          />{' '}
          For the requester
        </label>
      )}
      <button type="submit">Add comment</button>
    </form>
  );
}

/** Who asked and what they said; the snapshot's figures as the agent took them when the user asked. */
function RequestSection(props: { r: RequestView }) {
  const { r } = props;
  // The shape of shared's RequestSnapshot, read defensively: every field is the agent's.
  const snap = r.snapshot as {
    memory?: { totalBytes?: number; freeBytes?: number };
    disks?: { mount?: string; totalBytes?: number; freeBytes?: number }[];
    topProcesses?: { name?: string; cpuPct?: number }[];
  } | null;
  const usedPct = (total?: number, free?: number) =>
    total && total > 0 ? `${Math.round((1 - (free ?? 0) / total) * 100)} %` : '?';
  const disks = Array.isArray(snap?.disks) ? snap.disks : [];
  const top = Array.isArray(snap?.topProcesses) ? snap.topProcesses.slice(0, 5) : [];
  return (
    <section aria-label="Request">
      <h2>Request</h2>
      <dl class="overview">
        <dt>Requester</dt>
        <dd data-testid="requester">
          {r.requesterName}
          {r.requesterContact ? ` <${r.requesterContact}>` : ''}
          {r.vip ? ' · VIP' : ''}
        </dd>
        {r.osUser && (
          <>
            <dt>Logged-in user</dt>
            <dd>{r.osUser}</dd>
          </>
        )}
        <dt>Asked</dt>
        <dd>{new Date(r.createdAt).toLocaleString()}</dd>
        {disks.length > 0 && (
          <>
            <dt>Disks then</dt>
            <dd>
              {disks.map((d) => `${String(d.mount ?? '?')} ${usedPct(d.totalBytes, d.freeBytes)} used`).join(', ')}
            </dd>
          </>
        )}
        {snap?.memory && (
          <>
            <dt>Memory then</dt>
            <dd>{usedPct(snap.memory.totalBytes, snap.memory.freeBytes)} used</dd>
          </>
        )}
        {top.length > 0 && (
          <>
            <dt>Busiest then</dt>
            <dd>{top.map((p) => `${String(p.name ?? '?')} ${Number(p.cpuPct ?? 0).toFixed(0)} %`).join(', ')}</dd>
          </>
        )}
        {r.related.length > 0 && (
          <>
            <dt>Related</dt>
            <dd>
              {r.related.map((id) => (
                <span key={id}>
                  <Link href={`/incidents/${encodeURIComponent(id)}`}>{id}</Link>{' '}
                </span>
              ))}
            </dd>
          </>
        )}
      </dl>
      <blockquote class="explanation" data-testid="request-text">
        {r.text}
      </blockquote>
    </section>
  );
}
