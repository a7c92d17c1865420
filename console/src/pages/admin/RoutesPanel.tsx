/**
 * Notification routing rules: which tickets reach which channel (client, least severe criticality, on-call
 * addressing, outside coverage only). Tier 3 reads them, admins add and delete (`notifications.manage`, checked by
 * the collector on the channel's client). Tiers and event filters stay with `outpost channels route` for now.
 */
import { type Signal, useSignal } from '@preact/signals';
import { Api } from '../../api/client.js';
import type { ChannelInfo } from '../../api/types.js';
import { ActionForm, clientOptions, SelectField } from '../../components/Form.js';
import { ErrorLine } from '../../components/Layout.js';
import { useList } from './load.js';

const CRITICALITIES = [
  { value: 'P4', text: 'all (P4)' },
  { value: 'P3', text: 'P3' },
  { value: 'P2', text: 'P2' },
  { value: 'P1', text: 'P1' },
];

type RouteList = ReturnType<typeof useRoutes>;
const useRoutes = () => useList(() => Api.routes().then((r) => r.routes));

export function RoutesPanel(props: {
  channels: readonly ChannelInfo[];
  clients: readonly { id: string; name: string }[];
  manage: boolean;
}) {
  const routes = useRoutes();
  const channelName = (id: string) => props.channels.find((c) => c.id === id)?.name ?? id;
  const clientName = (id: string | null) =>
    id === null ? 'all clients' : (props.clients.find((c) => c.id === id)?.name ?? id);
  return (
    <>
      <h3>Routing rules</h3>
      <ErrorLine error={routes.error.value} />
      <table class="grid" aria-label="Routing rules">
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col">Client</th>
            <th scope="col">Criticality</th>
            <th scope="col">Tiers</th>
            <th scope="col">Events</th>
            <th scope="col">Addressing</th>
            {props.manage && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {routes.data.value?.map((r) => (
            <tr key={r.id} data-route={channelName(r.channelId)}>
              <td>{channelName(r.channelId)}</td>
              <td>{clientName(r.clientId)}</td>
              <td>{r.minCriticality === 'P4' ? 'all' : `${r.minCriticality} and worse`}</td>
              <td>{r.tiers.join(', ') || 'all'}</td>
              <td>{r.events.join(', ') || 'all'}</td>
              <td data-testid="addressing">
                {[r.onCall ? 'on call' : 'channel', r.outsideCoverageOnly ? 'outside coverage only' : '']
                  .filter(Boolean)
                  .join(', ')}
              </td>
              {props.manage && (
                <td>
                  <button
                    type="button"
                    aria-label={`Delete the rule of ${channelName(r.channelId)}`}
                    onClick={() => void routes.act(() => Api.deleteRoute(r.id))}
                  >
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {props.manage && props.channels.length > 0 && (
        <NewRouteForm channels={props.channels} clients={props.clients} routes={routes} />
      )}
    </>
  );
}

/** A new rule: channel, client, least severe criticality, on-call addressing, outside coverage only. */
function NewRouteForm(props: {
  channels: readonly ChannelInfo[];
  clients: readonly { id: string; name: string }[];
  routes: RouteList;
}) {
  const channelId = useSignal('');
  const clientId = useSignal('');
  const minCriticality = useSignal('P4');
  const onCall = useSignal(false);
  const outside = useSignal(false);
  const chosen = channelId.value || props.channels[0]?.id || '';
  const create = () =>
    props.routes.act(() =>
      Api.createRoute({
        channelId: chosen,
        ...(clientId.value ? { clientId: clientId.value } : {}),
        minCriticality: minCriticality.value,
        onCall: onCall.value,
        outsideCoverageOnly: outside.value,
      }),
    );
  return (
    <ActionForm class="filters" label="New routing rule" onSubmit={create}>
      <label>
        Channel
        <select name="route-channel" value={chosen} onChange={(e) => (channelId.value = e.currentTarget.value)}>
          {props.channels.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <SelectField
        label="Client"
        name="route-client"
        value={clientId}
        options={clientOptions('Any the channel serves', props.clients)}
      />
      <SelectField label="At least" name="route-criticality" value={minCriticality} options={CRITICALITIES} />
      <CheckBox name="route-oncall" label="To whoever is on call" value={onCall} />
      <CheckBox name="route-outside" label="Outside coverage only" value={outside} />
      <button type="submit">Add rule</button>
    </ActionForm>
  );
}

/** A labelled checkbox bound to a signal. */
function CheckBox(props: { name: string; label: string; value: Signal<boolean> }) {
  return (
    <label>
      <input
        type="checkbox"
        name={props.name}
        checked={props.value.value}
        onChange={(e) => (props.value.value = e.currentTarget.checked)}
      />{' '}
      {props.label}
    </label>
  );
}
