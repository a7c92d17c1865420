/**
 * The incident queue: open and acknowledged tickets, filtered by tier, criticality, client and SLA state, re-read
 * when the live stream says a ticket changed (and every 30 s, or 10 s while the stream is down). "Breached" and "on
 * time" are the server's filter; "due within 1 h" narrows what the server answered (a queue page of up to 200).
 */
import { type Signal, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Api } from '../../api/client.js';
import { incidentsChanged, liveState } from '../../api/live.js';
import type { Incident } from '../../api/types.js';
import { ErrorLine, Layout } from '../../components/Layout.js';
import { IncidentList } from './IncidentList.js';

/** The queue's order: the SLA due first (response while open, then resolution), then priority, then age. */
function byUrgency(a: Incident, b: Incident): number {
  const due = (i: Incident) =>
    (i.status === 'open' ? i.sla?.responseDue : i.status === 'acknowledged' ? i.sla?.resolutionDue : null) ??
    Number.POSITIVE_INFINITY;
  return due(a) - due(b) || a.criticality.localeCompare(b.criticality) || a.detectedAt - b.detectedAt;
}

/** The SLA filter: the server's breached / on time, or "due within 1 h" narrowed here. */
type SlaFilter = '' | 'breached' | 'on-time' | 'due-soon';

/** The queue's filters, one signal each. */
interface QueueFilters {
  tier: Signal<string>;
  crit: Signal<string>;
  client: Signal<string>;
  sla: Signal<SlaFilter>;
  showResolved: Signal<boolean>;
}

/** Tier, priority, client, SLA and "show resolved". */
function FiltersBar({ f }: { f: QueueFilters }) {
  const { tier, crit, client, sla, showResolved } = f;
  const clients = useSignal<{ id: string; name: string }[]>([]);
  useEffect(() => {
    // Only the clients this user may see; a failure leaves the filter at "Any" (the queue itself says why).
    Api.clients()
      .then((r) => (clients.value = r.clients))
      .catch(() => undefined);
  }, []);
  return (
    <div class="filters">
      <label>
        Tier
        <select value={tier.value} onChange={(e) => (tier.value = e.currentTarget.value)}>
          <option value="">Any</option>
          <option value="1">Tier 1</option>
          <option value="2">Tier 2</option>
          <option value="3">Tier 3</option>
        </select>
      </label>
      <label>
        Priority
        <select value={crit.value} onChange={(e) => (crit.value = e.currentTarget.value)}>
          <option value="">Any</option>
          {['P1', 'P2', 'P3', 'P4'].map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label>
        Client
        <select value={client.value} onChange={(e) => (client.value = e.currentTarget.value)}>
          <option value="">Any</option>
          {clients.value.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        SLA
        <select value={sla.value} onChange={(e) => (sla.value = e.currentTarget.value as SlaFilter)}>
          <option value="">Any</option>
          <option value="breached">Breached</option>
          <option value="on-time">On time</option>
          <option value="due-soon">Due within 1 h or late</option>
        </select>
      </label>
      <label>
        <input
          type="checkbox"
          checked={showResolved.value}
          onChange={(e) => (showResolved.value = e.currentTarget.checked)}
        />{' '}
        Show resolved
      </label>
    </div>
  );
}

export function IncidentsPage() {
  const list = useSignal<Incident[] | null>(null);
  const error = useSignal<unknown>(null);
  const f: QueueFilters = {
    tier: useSignal(''),
    crit: useSignal(''),
    client: useSignal(''),
    sla: useSignal<SlaFilter>(''),
    showResolved: useSignal(false),
  };
  const { tier, crit, client, sla, showResolved } = f;
  const load = () =>
    Api.incidents({
      status: showResolved.value ? ['open', 'acknowledged', 'resolved'] : ['open', 'acknowledged'],
      ...(tier.value ? { tier: Number(tier.value) } : {}),
      ...(crit.value ? { criticality: crit.value } : {}),
      ...(client.value ? { clientId: client.value } : {}),
      ...(sla.value === 'breached' ? { breached: true } : sla.value === 'on-time' ? { breached: false } : {}),
    })
      .then((r) => {
        const soon = Date.now() + 3_600_000;
        const due = (i: Incident) =>
          i.status === 'open' ? i.sla?.responseDue : i.status === 'acknowledged' ? i.sla?.resolutionDue : undefined;
        const shown = sla.value === 'due-soon' ? r.incidents.filter((i) => (due(i) ?? Infinity) <= soon) : r.incidents;
        list.value = [...shown].sort(byUrgency);
        error.value = null;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  const live = liveState.value === 'open';
  useEffect(() => {
    void load();
    const timer = setInterval(load, live ? 30_000 : 10_000);
    return () => clearInterval(timer);
  }, [tier.value, crit.value, client.value, sla.value, showResolved.value, live]);
  // A ticket changed somewhere (detection, another technician): re-read, at most every 300 ms.
  const changes = incidentsChanged.value;
  useEffect(() => {
    if (changes === 0) return;
    const t = setTimeout(load, 300);
    return () => clearTimeout(t);
  }, [changes]);

  return (
    <Layout>
      <h1>Incidents</h1>
      <FiltersBar f={f} />
      <ErrorLine error={error.value} />
      {list.value === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <IncidentList
          bulk
          incidents={list.value}
          onChange={(changed) => {
            list.value = list.value!.map((i) => (i.id === changed.id ? changed : i));
          }}
        />
      )}
    </Layout>
  );
}
