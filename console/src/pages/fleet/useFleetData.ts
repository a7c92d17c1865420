/**
 * The fleet page's data: clients, the sites of the chosen client (and site names for the table), and the page of
 * machines for the query. Presence arrives on the live stream; while it is down the page polls every 5 s.
 */
import { type Signal, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Api, type FleetQuery } from '../../api/client.js';
import { liveState } from '../../api/live.js';
import type { Agent } from '../../api/types.js';

const POLL_MS = 5000;

/** What the fleet page reads; each signal updates as its request answers. */
export interface FleetData {
  page: Signal<{ agents: Agent[]; total: number } | null>;
  error: Signal<unknown>;
  clients: Signal<{ id: string; name: string }[]>;
  sites: Signal<{ id: string; name: string }[]>;
  siteNames: Signal<Map<string, string>>;
}

/** Loads (and keeps loading) what the fleet page shows for `q`. */
export function useFleetData(q: FleetQuery): FleetData {
  const page = useSignal<{ agents: Agent[]; total: number } | null>(null);
  const error = useSignal<unknown>(null);
  const clients = useSignal<{ id: string; name: string }[]>([]);
  const sites = useSignal<{ id: string; name: string }[]>([]);
  const siteNames = useSignal(new Map<string, string>());
  const key = JSON.stringify(q);

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
  return { page, error, clients, sites, siteNames };
}
