/** The fleet's filter form: client, site, status, OS, tag and free text; applying it rewrites the URL. */
import { useSignal, useSignalEffect } from '@preact/signals';
import type { FleetQuery } from '../../api/client.js';
import { route } from '../../router.js';

const STATUSES: [string, string][] = [
  ['', 'Any'],
  ['online', 'Online'],
  ['offline', 'Offline'],
  ['revoked', 'Revoked'],
];
const SYSTEMS: [string, string][] = [
  ['', 'Any'],
  ['linux', 'Linux'],
  ['win32', 'Windows'],
  ['darwin', 'macOS'],
];

/** A labelled select of fixed options; '' (the first, "Any") reads as no filter. */
function Choice(props: {
  label: string;
  value: string | undefined;
  options: [string, string][];
  disabled?: boolean;
  onChange(value: string | undefined): void;
}) {
  return (
    <label>
      {props.label}
      <select
        value={props.value ?? ''}
        disabled={props.disabled}
        onChange={(e) => props.onChange(e.currentTarget.value || undefined)}
      >
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

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
      <Choice
        label="Client"
        value={q.clientId}
        options={[['', 'All clients'], ...clients.map((c): [string, string] => [c.id, c.name])]}
        onChange={(clientId) => set({ clientId, siteId: undefined })}
      />
      <Choice
        label="Site"
        value={q.siteId}
        disabled={!q.clientId}
        options={[['', 'All sites'], ...sites.map((s): [string, string] => [s.id, s.name])]}
        onChange={(siteId) => set({ siteId })}
      />
      <Choice label="Status" value={q.status} options={STATUSES} onChange={(status) => set({ status })} />
      <Choice label="OS" value={q.os} options={SYSTEMS} onChange={(os) => set({ os })} />
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
