/**
 * A machine: overview (status, last seen, OS, hardware, agent version), its metrics chart, inventory tabs
 * (software, patches, services, hardware, licences, antivirus), change history, jobs and updates, its incidents and
 * sessions, and a terminal one click away (xterm loaded on demand).
 */
import { type Signal, useSignal } from '@preact/signals';
import { lazy, Suspense } from 'preact/compat';
import { useEffect } from 'preact/hooks';
import { Api } from '../../api/client.js';
import type { Agent, Incident } from '../../api/types.js';
import { ErrorLine, Layout, Link } from '../../components/Layout.js';
import { ago, bytes } from '../../format.js';
import { IncidentList } from '../incidents/IncidentList.js';
import { HardwareTab } from './HardwareTab.js';
import { HistoryTab } from './HistoryTab.js';
import { InventoryTable } from './InventoryTable.js';
import { JobsTab } from './JobsTab.js';
import { MetricsChart } from './MetricsChart.js';
import { SessionsTab } from './SessionsTab.js';

const Terminal = lazy(() => import('./Terminal.js'));
// Transfers are their own chunk: most visits move no file.
const FilesPanel = lazy(() => import('./FilesPanel.js'));

const TABS = [
  {
    id: 'software',
    label: 'Software',
    probe: 'installed_software',
    columns: ['name', 'version', 'arch', 'publisher', 'source'],
  },
  {
    id: 'patches',
    label: 'Patches',
    probe: 'pending_patches',
    columns: ['kind', 'name', 'installed_version', 'candidate_version', 'security', 'severity'],
  },
  { id: 'services', label: 'Services', probe: 'services', columns: ['name', 'display_name', 'state', 'start_mode'] },
  { id: 'hardware', label: 'Hardware' },
  {
    id: 'licences',
    label: 'Licences',
    probe: 'licences',
    kind: 'os_activation',
    columns: ['product', 'state', 'channel', 'expires_at'],
  },
  {
    id: 'antivirus',
    label: 'Antivirus',
    probe: 'licences',
    kind: 'antivirus',
    columns: ['product', 'version', 'enabled', 'up_to_date', 'definitions_date', 'expires_at'],
  },
  { id: 'history', label: 'Changes' },
  { id: 'jobs', label: 'Jobs and updates' },
  { id: 'incidents', label: 'Incidents' },
  { id: 'sessions', label: 'Sessions' },
] as const;

export function MachinePage(props: { id: string }) {
  const agent = useSignal<Agent | null>(null);
  const error = useSignal<unknown>(null);
  useEffect(() => {
    const load = () =>
      Api.agent(props.id)
        .then((a) => {
          agent.value = a;
        })
        .catch((err: unknown) => {
          error.value = err;
        });
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [props.id]);

  const a = agent.value;
  return (
    <Layout>
      <p>
        <Link href="/fleet">← Fleet</Link>
      </p>
      <ErrorLine error={error.value} />
      {a && (
        <>
          <h1>{a.hostname}</h1>
          <Overview a={a} />
          <RemoteButtons a={a} />
          <MetricsChart agentId={a.id} />
          <MachineTabs agentId={a.id} error={error} />
        </>
      )}
    </Layout>
  );
}

/** Status, last seen, OS, hardware, agent version, address, id. */
function Overview({ a }: { a: Agent }) {
  return (
    <dl class="overview">
      <dt>Status</dt>
      <dd>
        <span class={`status ${a.status}`}>{a.status}</span>
      </dd>
      <dt>Last seen</dt>
      <dd>{ago(a.lastSeenAt)}</dd>
      <dt>OS</dt>
      <dd>{`${a.os.distro} ${a.os.release} (${a.os.platform} ${a.os.arch}, kernel ${a.os.kernel})`}</dd>
      <dt>Hardware</dt>
      <dd>{`${a.cpu.model}, ${a.cpu.cores} cores, ${bytes(a.memoryBytes)}`}</dd>
      <dt>Agent</dt>
      <dd>{a.agentVersion}</dd>
      <dt>Address</dt>
      <dd>{a.lastIp ?? '—'}</dd>
      <dt>Id</dt>
      <dd>
        <code>{a.id}</code>
      </dd>
    </dl>
  );
}

/** The terminal and the file panel, each loaded on its first opening (online machines only). */
function RemoteButtons({ a }: { a: Agent }) {
  const terminal = useSignal(false);
  const files = useSignal(false);
  return (
    <>
      {terminal.value ? (
        <Suspense fallback={<p class="muted">Loading the terminal…</p>}>
          <Terminal agentId={a.id} onClose={() => (terminal.value = false)} />
        </Suspense>
      ) : (
        <button type="button" disabled={a.status !== 'online'} onClick={() => (terminal.value = true)}>
          Open terminal
        </button>
      )}{' '}
      {files.value ? (
        <Suspense fallback={<p class="muted">Loading…</p>}>
          <FilesPanel agentId={a.id} onClose={() => (files.value = false)} />
        </Suspense>
      ) : (
        <button type="button" disabled={a.status !== 'online'} onClick={() => (files.value = true)}>
          Files…
        </button>
      )}
    </>
  );
}

/** The inventory, history, jobs, incidents and sessions tabs; incidents are read when their tab opens. */
function MachineTabs({ agentId, error }: { agentId: string; error: Signal<unknown> }) {
  const tab = useSignal<string>('software');
  const incidents = useSignal<Incident[] | null>(null);
  useEffect(() => {
    if (tab.value !== 'incidents') return;
    Api.incidents({ agentId, status: ['open', 'acknowledged', 'resolved'] })
      .then((r) => {
        incidents.value = r.incidents;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, [agentId, tab.value]);
  const current = TABS.find((t) => t.id === tab.value) ?? TABS[0];
  return (
    <>
      <div class="tabs" role="tablist" aria-label="Machine details">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab.value === t.id}
            aria-controls="tabpanel"
            onClick={() => (tab.value = t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="tabpanel" aria-labelledby={`tab-${current.id}`}>
        {current.id === 'sessions' ? (
          <SessionsTab agentId={agentId} />
        ) : current.id === 'hardware' ? (
          <HardwareTab agentId={agentId} />
        ) : current.id === 'history' ? (
          <HistoryTab agentId={agentId} />
        ) : current.id === 'jobs' ? (
          <JobsTab agentId={agentId} />
        ) : 'probe' in current ? (
          <InventoryTable
            agentId={agentId}
            probe={current.probe}
            columns={[...current.columns]}
            label={current.label}
            {...('kind' in current ? { kind: current.kind } : {})}
          />
        ) : incidents.value ? (
          <IncidentList
            incidents={incidents.value}
            onChange={(c) => (incidents.value = incidents.value!.map((i) => (i.id === c.id ? c : i)))}
          />
        ) : (
          <p class="muted">Loading…</p>
        )}
      </div>
    </>
  );
}
