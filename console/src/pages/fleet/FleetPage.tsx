/**
 * The fleet: a server-side paged, sorted and filtered table (client, site, status, OS, tag, free text). The filters live
 * in the URL, so a view can be bookmarked and shared. Presence arrives on the live stream (api/live.ts) and changes
 * the rows shown at once; while the stream is down the page polls every 5 s as before.
 */
import { useSignal } from '@preact/signals';
import { lazy, Suspense } from 'preact/compat';
import type { FleetQuery } from '../../api/client.js';
import type { Agent } from '../../api/types.js';
import { ErrorLine, Layout } from '../../components/Layout.js';
import { navigate, route } from '../../router.js';
import { currentUser } from '../../session.js';
import { FleetFilters } from './FleetFilters.js';
import { FleetViews } from './FleetViews.js';
import { MachineTable } from './MachineTable.js';
import { PAGE, readQuery, writeQuery } from './query.js';
import { useFleetData } from './useFleetData.js';
import { type FleetColumn, type FleetView, loadColumns, loadViews, saveColumns } from './views.js';

// Bulk actions load on the first selection: most visits never select a machine.
const BulkActions = lazy(() => import('./BulkActions.js'));

export function FleetPage() {
  const q = readQuery(route.value.search);
  const { page, error, clients, sites, siteNames } = useFleetData(q);
  const userId = currentUser.value?.id ?? 'anonymous';
  const columns = useSignal<FleetColumn[]>(loadColumns(userId));
  const views = useSignal<FleetView[]>(loadViews(userId));
  const setColumns = (next: FleetColumn[]) => {
    columns.value = next;
    saveColumns(userId, next);
  };
  /** Machines selected for a bulk action, id → hostname (kept across pages and filters until cleared). */
  const selected = useSignal<ReadonlyMap<string, string>>(new Map());
  const select = (list: readonly Agent[], on: boolean) => {
    const next = new Map(selected.value);
    for (const a of list) {
      if (on && a.status !== 'revoked') next.set(a.id, a.hostname);
      else next.delete(a.id);
    }
    selected.value = next;
  };

  const set = (patch: Partial<FleetQuery>) => navigate(writeQuery({ ...q, offset: 0, ...patch }));
  const clientName = (id: string) => clients.value.find((c) => c.id === id)?.name ?? id;
  const siteName = (id: string) => siteNames.value.get(id) ?? id;
  const total = page.value?.total ?? 0;

  return (
    <Layout>
      <h1>Fleet</h1>
      <FleetFilters q={q} clients={clients.value} sites={sites.value} set={set} />
      <FleetViews userId={userId} columns={columns.value} setColumns={setColumns} views={views} />
      {selected.value.size > 0 && (
        <Suspense fallback={<p class="muted">Loading…</p>}>
          <BulkActions
            machines={[...selected.value].map(([id, hostname]) => ({ id, hostname }))}
            onClear={() => (selected.value = new Map())}
          />
        </Suspense>
      )}
      <ErrorLine error={error.value} />
      <p class="count" aria-live="polite">
        {page.value
          ? `${total === 0 ? 0 : q.offset + 1}–${Math.min(q.offset + PAGE, total)} of ${total} machines`
          : 'Loading…'}
      </p>
      <MachineTable
        q={q}
        agents={page.value?.agents}
        columns={columns.value}
        selected={selected.value}
        select={select}
        set={set}
        clientName={clientName}
        siteName={siteName}
      />
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={q.offset === 0} onClick={() => set({ offset: Math.max(0, q.offset - PAGE) })}>
          Previous
        </button>
        <button type="button" disabled={q.offset + PAGE >= total} onClick={() => set({ offset: q.offset + PAGE })}>
          Next
        </button>
      </nav>
    </Layout>
  );
}
