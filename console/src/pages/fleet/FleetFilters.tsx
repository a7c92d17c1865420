/** The fleet's filter form: client, site, status, OS, tag and free text; applying it rewrites the URL. */
import { useSignal, useSignalEffect } from '@preact/signals';
import type { FleetQuery } from '../../api/client.js';
import { route } from '../../router.js';

/** The filter form for `q`; `set` navigates to the query with the patch applied (back to the first page). */
export function FleetFilters({
  q,
  clients,
  sites,
  set,
}: {
  q: FleetQuery;
  clients: readonly { id: string; name: string }[];
  sites: readonly { id: string; name: string }[];
  set: (patch: Partial<FleetQuery>) => void;
}) {
  const searchText = useSignal(q.search ?? '');
  const tagText = useSignal(q.tag ?? '');
  useSignalEffect(() => {
    searchText.value = new URLSearchParams(route.value.search).get('search') ?? '';
    tagText.value = new URLSearchParams(route.value.search).get('tag') ?? '';
  });
  return (
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
          {clients.map((c) => (
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
          {sites.map((s) => (
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
  );
}
