/**
 * The fleet: a server-side paged, sorted and filtered table (client, site, status, OS, tag, free text). The filters live
 * in the URL, so a view can be bookmarked and shared. Presence arrives on the live stream (api/live.ts) and changes
 * the rows shown at once; while the stream is down the page polls every 5 s as before.
 */
import { useSignal, useSignalEffect } from '@preact/signals';
import { lazy, Suspense } from 'preact/compat';
import { useEffect } from 'preact/hooks';
import { Api, type FleetQuery } from '../../api/client.js';
import { liveState, presence } from '../../api/live.js';
import type { Agent } from '../../api/types.js';
import { ErrorLine, Layout, Link } from '../../components/Layout.js';
import { ago, bytes } from '../../format.js';
import { navigate, route } from '../../router.js';
import { currentUser } from '../../session.js';
import {
  FLEET_COLUMNS,
  type FleetColumn,
  type FleetView,
  loadColumns,
  loadViews,
  saveColumns,
  saveViews,
} from './views.js';

// Bulk actions load on the first selection: most visits never select a machine.
const BulkActions = lazy(() => import('./BulkActions.js'));

const PAGE = 50;
const POLL_MS = 5000;

function readQuery(search: string): FleetQuery {
  const p = new URLSearchParams(search);
  const get = (k: string) => p.get(k) ?? undefined;
  const order = get('order');
  return {
    clientId: get('clientId'),
    siteId: get('siteId'),
    status: get('status'),
    os: get('os'),
    tag: get('tag'),
    search: get('search'),
    sort: get('sort') ?? 'hostname',
    order: order === 'desc' ? 'desc' : 'asc',
    limit: PAGE,
    offset: Math.max(0, Number(get('offset') ?? 0) || 0),
  } as FleetQuery;
}

function writeQuery(q: FleetQuery): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q))
    if (v !== undefined && v !== '' && k !== 'limit' && !(k === 'offset' && v === 0)) p.set(k, String(v));
  const s = p.toString();
  return s ? `/fleet?${s}` : '/fleet';
}

/** The row as the live stream last described it (a revoked machine stays revoked). */
function withPresence(a: Agent): Agent {
  const live = presence.value.get(a.id);
  if (!live || a.status === 'revoked') return a;
  return { ...a, status: live.status, lastSeenAt: Math.max(a.lastSeenAt ?? 0, live.at) };
}

export function FleetPage() {
  const q = readQuery(route.value.search);
  const page = useSignal<{ agents: Agent[]; total: number } | null>(null);
  const error = useSignal<unknown>(null);
  const clients = useSignal<{ id: string; name: string }[]>([]);
  const sites = useSignal<{ id: string; name: string }[]>([]);
  const searchText = useSignal(q.search ?? '');
  const tagText = useSignal(q.tag ?? '');
  const userId = currentUser.value?.id ?? 'anonymous';
  const columns = useSignal<FleetColumn[]>(loadColumns(userId));
  const views = useSignal<FleetView[]>(loadViews(userId));
  const viewName = useSignal('');
  const setColumns = (next: FleetColumn[]) => {
    columns.value = next;
    saveColumns(userId, next);
  };
  const key = JSON.stringify(q);
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

  useEffect(() => {
    Api.clients()
      .then((r) => {
        clients.value = r.clients;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, []);
  // Site names for the table: every client's sites while there are few clients, else the chosen client's.
  const siteNames = useSignal(new Map<string, string>());
  useEffect(() => {
    const ids = q.clientId ? [q.clientId] : clients.value.length <= 20 ? clients.value.map((c) => c.id) : [];
    Promise.all(ids.map((id) => Api.sites(id).then((r) => r.sites)))
      .then((lists) => {
        sites.value = q.clientId ? (lists[0] ?? []) : [];
        siteNames.value = new Map(lists.flat().map((s) => [s.id, s.name]));
      })
      .catch(() => {
        sites.value = [];
      });
  }, [q.clientId, clients.value]);
  useEffect(() => {
    let stop = false;
    const load = () =>
      Api.agents(q)
        .then((r) => {
          if (!stop) {
            page.value = r;
            error.value = null;
          }
        })
        .catch((err: unknown) => {
          if (!stop) error.value = err;
        });
    void load();
    // Polling only while the live stream is not open (it pushes presence; the page re-reads when it reopens).
    const timer = liveState.value === 'open' ? undefined : setInterval(load, POLL_MS);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [key, liveState.value === 'open']);
  useSignalEffect(() => {
    searchText.value = new URLSearchParams(route.value.search).get('search') ?? '';
    tagText.value = new URLSearchParams(route.value.search).get('tag') ?? '';
  });

  const clientName = (id: string) => clients.value.find((c) => c.id === id)?.name ?? id;
  const siteName = (id: string) => siteNames.value.get(id) ?? id;
  const total = page.value?.total ?? 0;

  return (
    <Layout>
      <h1>Fleet</h1>
      <form
        class="filters"
        aria-label="Filter machines"
        onSubmit={(e) => {
          e.preventDefault();
          set({ search: searchText.value || undefined, tag: tagText.value.trim().toLowerCase() || undefined });
        }}
      >
        <label>
          Client
          <select
            value={q.clientId ?? ''}
            onChange={(e) => set({ clientId: e.currentTarget.value || undefined, siteId: undefined })}
          >
            <option value="">All clients</option>
            {clients.value.map((c) => (
              <option value={c.id} key={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Site
          <select
            value={q.siteId ?? ''}
            disabled={!q.clientId}
            onChange={(e) => set({ siteId: e.currentTarget.value || undefined })}
          >
            <option value="">All sites</option>
            {sites.value.map((s) => (
              <option value={s.id} key={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={q.status ?? ''} onChange={(e) => set({ status: e.currentTarget.value || undefined })}>
            <option value="">Any</option>
            <option value="online">Online</option>
            <option value="offline">Offline</option>
            <option value="revoked">Revoked</option>
          </select>
        </label>
        <label>
          OS
          <select value={q.os ?? ''} onChange={(e) => set({ os: e.currentTarget.value || undefined })}>
            <option value="">Any</option>
            <option value="linux">Linux</option>
            <option value="win32">Windows</option>
            <option value="darwin">macOS</option>
          </select>
        </label>
        <label>
          Tag
          <input
            name="tag"
            size={12}
            maxLength={63}
            placeholder="e.g. test-ring"
            value={tagText.value}
            onInput={(e) => {
              tagText.value = e.currentTarget.value;
            }}
          />
        </label>
        <label>
          Search
          <input
            type="search"
            name="search"
            placeholder="hostname, OS, address, id"
            value={searchText.value}
            onInput={(e) => {
              searchText.value = e.currentTarget.value;
            }}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <div class="filters">
        <details class="columns">
          <summary>Columns</summary>
          <fieldset>
            <legend class="visually-hidden">Columns shown</legend>
            {FLEET_COLUMNS.map((c) => (
              <label key={c.key}>
                <input
                  type="checkbox"
                  name={`col-${c.key}`}
                  checked={columns.value.includes(c.key)}
                  // The hostname links to the machine: it always stays.
                  disabled={c.key === 'hostname'}
                  onChange={(e) =>
                    setColumns(
                      e.currentTarget.checked
                        ? FLEET_COLUMNS.map((x) => x.key).filter((k) => k === c.key || columns.value.includes(k))
                        : columns.value.filter((k) => k !== c.key),
                    )
                  }
                />{' '}
                {c.label}
              </label>
            ))}
          </fieldset>
        </details>
        <form
          class="filters"
          aria-label="Save view"
          onSubmit={(e) => {
            e.preventDefault();
            const name = viewName.value.trim();
            if (!name) return;
            const query = route.value.search.replace(/^\?/, '').replace(/(^|&)offset=\d+/, '');
            const next = [...views.value.filter((v) => v.name !== name), { name, query, columns: columns.value }];
            views.value = next;
            saveViews(userId, next);
            viewName.value = '';
          }}
        >
          <label>
            View name
            <input
              name="view-name"
              maxLength={100}
              value={viewName.value}
              onInput={(e) => (viewName.value = e.currentTarget.value)}
            />
          </label>
          <button type="submit">Save view</button>
        </form>
        {views.value.length > 0 && (
          <ul class="views" aria-label="Saved views">
            {views.value.map((v) => (
              <li key={v.name}>
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    setColumns(v.columns);
                    navigate(v.query ? `/fleet?${v.query}` : '/fleet');
                  }}
                >
                  {v.name}
                </button>
                <button
                  type="button"
                  class="link"
                  aria-label={`Delete view ${v.name}`}
                  onClick={() => {
                    const next = views.value.filter((x) => x.name !== v.name);
                    views.value = next;
                    saveViews(userId, next);
                  }}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
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
      <table class="grid" aria-label="Machines">
        <thead>
          <tr>
            <th scope="col">
              <input
                type="checkbox"
                aria-label="Select every machine on this page"
                checked={
                  !!page.value?.agents.length &&
                  page.value.agents.every((a) => a.status === 'revoked' || selected.value.has(a.id))
                }
                onChange={(e) => select(page.value?.agents ?? [], e.currentTarget.checked)}
              />
            </th>
            {FLEET_COLUMNS.filter((c) => columns.value.includes(c.key)).map((c) => {
              const sorted = 'sort' in c && q.sort === c.sort;
              return (
                <th
                  key={c.key}
                  scope="col"
                  aria-sort={sorted ? (q.order === 'desc' ? 'descending' : 'ascending') : undefined}
                >
                  {'sort' in c ? (
                    <button
                      type="button"
                      class="sort"
                      onClick={() => set({ sort: c.sort, order: sorted && q.order === 'asc' ? 'desc' : 'asc' })}
                    >
                      {c.label}
                      {sorted ? (q.order === 'desc' ? ' ▼' : ' ▲') : ''}
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {page.value?.agents.map((loaded) => {
            const a = withPresence(loaded);
            return (
              <tr key={a.id} data-agent={a.id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${a.hostname}`}
                    disabled={a.status === 'revoked'}
                    checked={selected.value.has(a.id)}
                    onChange={(e) => select([a], e.currentTarget.checked)}
                  />
                </td>
                {columns.value.includes('hostname') && (
                  <td>
                    <Link href={`/machines/${encodeURIComponent(a.id)}`}>{a.hostname}</Link>
                  </td>
                )}
                {columns.value.includes('status') && (
                  <td>
                    <span class={`status ${a.status}`}>{a.status}</span>
                  </td>
                )}
                {columns.value.includes('client') && <td>{clientName(a.clientId)}</td>}
                {columns.value.includes('site') && <td>{siteName(a.siteId)}</td>}
                {columns.value.includes('os') && <td>{`${a.os.distro} ${a.os.release}`.trim() || a.os.platform}</td>}
                {columns.value.includes('version') && <td>{a.agentVersion}</td>}
                {columns.value.includes('seen') && <td>{ago(a.lastSeenAt)}</td>}
                {columns.value.includes('address') && <td>{a.lastIp ?? '—'}</td>}
                {columns.value.includes('cpu') && <td>{`${a.cpu.model} (${a.cpu.cores})`}</td>}
                {columns.value.includes('memory') && <td>{bytes(a.memoryBytes)}</td>}
                {columns.value.includes('enrolled') && <td>{new Date(a.enrolledAt).toLocaleDateString()}</td>}
                {columns.value.includes('tags') && <td data-testid="tags">{a.tags.join(', ')}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
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
