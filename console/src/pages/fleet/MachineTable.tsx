/** The fleet's table: a selection box per machine, the chosen columns, sortable headers. */
import type { FleetQuery } from '../../api/client.js';
import { presence } from '../../api/live.js';
import type { Agent } from '../../api/types.js';
import { Link } from '../../components/Layout.js';
import { ago, bytes } from '../../format.js';
import { FLEET_COLUMNS, type FleetColumn } from './views.js';

/** The row as the live stream last described it (a revoked machine stays revoked). */
function withPresence(a: Agent): Agent {
  const live = presence.value.get(a.id);
  if (!live || a.status === 'revoked') return a;
  return { ...a, status: live.status, lastSeenAt: Math.max(a.lastSeenAt ?? 0, live.at) };
}

/** What the table needs from the page. */
interface TableProps {
  q: FleetQuery;
  agents: readonly Agent[] | undefined;
  columns: FleetColumn[];
  selected: ReadonlyMap<string, string>;
  select: (list: readonly Agent[], on: boolean) => void;
  set: (patch: Partial<FleetQuery>) => void;
  clientName: (id: string) => string;
  siteName: (id: string) => string;
}

/** The table of machines on this page. */
export function MachineTable(p: TableProps) {
  const { q, agents, columns, selected, select } = p;
  return (
    <table class="grid" aria-label="Machines">
      <thead>
        <tr>
          <th scope="col">
            <input
              type="checkbox"
              aria-label="Select every machine on this page"
              checked={!!agents?.length && agents.every((a) => a.status === 'revoked' || selected.has(a.id))}
              onChange={(e) => select(agents ?? [], e.currentTarget.checked)}
            />
          </th>
          {FLEET_COLUMNS.filter((c) => columns.includes(c.key)).map((c) => {
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
                    onClick={() => p.set({ sort: c.sort, order: sorted && q.order === 'asc' ? 'desc' : 'asc' })}
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
        {agents?.map((loaded) => (
          <MachineRow key={loaded.id} a={withPresence(loaded)} {...p} />
        ))}
      </tbody>
    </table>
  );
}

/** One machine: its selection box and the chosen columns. */
function MachineRow({ a, columns, selected, select, clientName, siteName }: TableProps & { a: Agent }) {
  const shown = (c: FleetColumn) => columns.includes(c);
  return (
    <tr data-agent={a.id}>
      <td>
        <input
          type="checkbox"
          aria-label={`Select ${a.hostname}`}
          disabled={a.status === 'revoked'}
          checked={selected.has(a.id)}
          onChange={(e) => select([a], e.currentTarget.checked)}
        />
      </td>
      {shown('hostname') && (
        <td>
          <Link href={`/machines/${encodeURIComponent(a.id)}`}>{a.hostname}</Link>
        </td>
      )}
      {shown('status') && (
        <td>
          <span class={`status ${a.status}`}>{a.status}</span>
        </td>
      )}
      {shown('client') && <td>{clientName(a.clientId)}</td>}
      {shown('site') && <td>{siteName(a.siteId)}</td>}
      {shown('os') && <td>{`${a.os.distro} ${a.os.release}`.trim() || a.os.platform}</td>}
      {shown('version') && <td>{a.agentVersion}</td>}
      {shown('seen') && <td>{ago(a.lastSeenAt)}</td>}
      {shown('address') && <td>{a.lastIp ?? '—'}</td>}
      {shown('cpu') && <td>{`${a.cpu.model} (${a.cpu.cores})`}</td>}
      {shown('memory') && <td>{bytes(a.memoryBytes)}</td>}
      {shown('enrolled') && <td>{new Date(a.enrolledAt).toLocaleDateString()}</td>}
      {shown('tags') && <td data-testid="tags">{a.tags.join(', ')}</td>}
    </tr>
  );
}
