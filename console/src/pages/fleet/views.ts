/**
 * The fleet's columns and saved views, kept in the browser's localStorage under the user's id.
 *
 * Why localStorage and not the collector: a view is a filter query and a list of columns — no data, nothing to
 * authorise (the API still scopes every row) — so storing it server-side would add a table, routes and tenancy
 * checks for no safety gain. Keyed per user id, two technicians sharing a browser keep their own views. The cost:
 * views do not follow a technician to another browser, and cannot be shared except as a link (the URL holds the
 * filters). Moving them behind an API later only changes this module.
 */

/** Every column the table can show; `sort` names the API sort key where the column is sortable. */
export const FLEET_COLUMNS = [
  { key: 'hostname', label: 'Hostname', sort: 'hostname' },
  { key: 'status', label: 'Status', sort: 'status' },
  { key: 'client', label: 'Client' },
  { key: 'site', label: 'Site' },
  { key: 'os', label: 'OS', sort: 'os' },
  { key: 'version', label: 'Agent', sort: 'agentVersion' },
  { key: 'seen', label: 'Last seen', sort: 'lastSeenAt' },
  { key: 'address', label: 'Address' },
  { key: 'cpu', label: 'CPU' },
  { key: 'memory', label: 'Memory' },
  { key: 'enrolled', label: 'Enrolled', sort: 'enrolledAt' },
  { key: 'tags', label: 'Tags' },
] as const;
export type FleetColumn = (typeof FLEET_COLUMNS)[number]['key'];

/** The columns shown until the user picks others. */
export const DEFAULT_COLUMNS: FleetColumn[] = ['hostname', 'status', 'client', 'site', 'os', 'version', 'seen'];

/** A saved view: the fleet query string (filters and sort) and the columns. */
export interface FleetView {
  name: string;
  query: string;
  columns: FleetColumn[];
}

const known = new Set<string>(FLEET_COLUMNS.map((c) => c.key));
const key = (userId: string, what: string) => `outpost.fleet.${what}.${userId}`;

function read(k: string): unknown {
  try {
    return JSON.parse(localStorage.getItem(k) ?? 'null');
  } catch {
    return null;
  }
}

/** Keeps only known column names (what is stored may be old or edited by hand). */
function columnsOf(v: unknown): FleetColumn[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const cols = v.filter((c): c is FleetColumn => typeof c === 'string' && known.has(c));
  return cols.length ? cols : undefined;
}

export function loadColumns(userId: string): FleetColumn[] {
  return columnsOf(read(key(userId, 'columns'))) ?? DEFAULT_COLUMNS;
}

export function saveColumns(userId: string, columns: FleetColumn[]): void {
  localStorage.setItem(key(userId, 'columns'), JSON.stringify(columns));
}

export function loadViews(userId: string): FleetView[] {
  const v = read(key(userId, 'views'));
  if (!Array.isArray(v)) return [];
  const out: FleetView[] = [];
  for (const x of v) {
    if (!x || typeof x !== 'object') continue;
    const { name, query, columns } = x as Record<string, unknown>;
    const cols = columnsOf(columns);
    if (typeof name === 'string' && name && typeof query === 'string' && cols)
      out.push({ name: name.slice(0, 100), query: query.slice(0, 2000), columns: cols });
  }
  return out;
}

export function saveViews(userId: string, views: FleetView[]): void {
  localStorage.setItem(key(userId, 'views'), JSON.stringify(views));
}
