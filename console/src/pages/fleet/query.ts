/** The fleet's filters as they live in the URL, so a view can be bookmarked and shared. */
import type { FleetQuery } from '../../api/client.js';

/** Rows per page. */
export const PAGE = 50;

/** The query the URL's search string describes (unknown or missing values fall back to the defaults). */
export function readQuery(search: string): FleetQuery {
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

/** The fleet URL for a query (defaults left out). */
export function writeQuery(q: FleetQuery): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q))
    if (v !== undefined && v !== '' && k !== 'limit' && !(k === 'offset' && v === 0)) p.set(k, String(v));
  const s = p.toString();
  return s ? `/fleet?${s}` : '/fleet';
}
