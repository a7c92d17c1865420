/**
 * Notification channels with their health (tier 3 reads, admins manage): webhook, Slack and Teams channels are
 * created here; e-mail channels (SMTP settings) stay with `outpost channels add`. A webhook's signing key is shown once.
 */
import { useSignal } from '@preact/signals';
import { Api } from '../../api/client.js';
import { holds } from '../../can.js';
import { ActionForm, clientOptions, SelectField, TextField } from '../../components/Form.js';
import { ErrorLine } from '../../components/Layout.js';
import { currentUser } from '../../session.js';
import { useList } from './load.js';
import { RoutesPanel } from './RoutesPanel.js';

const CHANNEL_KINDS = [
  { value: 'webhook', text: 'Webhook (JSON)' },
  { value: 'slack', text: 'Slack' },
  { value: 'teams', text: 'Microsoft Teams' },
];

export function ChannelsSection() {
  const channels = useList(() => Api.channels().then((r) => r.channels));
  const clients = useList(() => Api.clients().then((r) => r.clients));
  const secret = useSignal<string | null>(null);
  const manage = holds(currentUser.value, 'admin');
  return (
    <>
      <ErrorLine error={channels.error.value ?? clients.error.value} />
      {secret.value && (
        <div class="notice" role="status">
          <p>Webhook signing key (HMAC-SHA256), shown once:</p>
          <code>{secret.value}</code>
        </div>
      )}
      <table class="grid" aria-label="Notification channels">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Target</th>
            <th scope="col">Client</th>
            <th scope="col">Health</th>
            {manage && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {channels.data.value?.map((c) => (
            <tr key={c.id} data-channel={c.name}>
              <td>{c.name}</td>
              <td>{c.kind}</td>
              <td>{c.target}</td>
              <td>
                {c.clientId === null
                  ? 'all clients'
                  : (clients.data.value?.find((x) => x.id === c.clientId)?.name ?? c.clientId)}
              </td>
              <td>{c.state === 'failing' ? `failing (${c.consecutiveFailures}): ${c.lastError ?? ''}` : c.state}</td>
              {manage && (
                <td>
                  <button
                    type="button"
                    aria-label={`Delete ${c.name}`}
                    onClick={() => void channels.act(() => Api.deleteChannel(c.id))}
                  >
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {manage && (
        <NewChannelForm channels={channels} clients={clients.data.value ?? []} onSecret={(k) => (secret.value = k)} />
      )}
      {channels.data.value && (
        <RoutesPanel channels={channels.data.value} clients={clients.data.value ?? []} manage={manage} />
      )}
    </>
  );
}

/** A webhook, Slack or Teams channel, for every client or one; a webhook's signing key goes to `onSecret`, once. */
function NewChannelForm(props: {
  channels: Pick<ReturnType<typeof useList<unknown>>, 'act'>;
  clients: readonly { id: string; name: string }[];
  onSecret(key: string | null): void;
}) {
  const kind = useSignal('webhook');
  const name = useSignal('');
  const url = useSignal('');
  const clientId = useSignal('');
  const create = () =>
    props.channels.act(async () => {
      const r = await Api.createChannel({
        kind: kind.value,
        name: name.value,
        clientId: clientId.value || null,
        url: url.value,
      });
      props.onSecret(r.secret ?? null);
      name.value = url.value = '';
    });
  return (
    <ActionForm class="filters" label="New channel" onSubmit={create}>
      <SelectField label="Kind" name="kind" value={kind} options={CHANNEL_KINDS} />
      <TextField label="Name" name="channel-name" required value={name} />
      <TextField label="URL" type="url" name="url" required value={url} />
      <SelectField
        label="Client"
        name="channel-client"
        value={clientId}
        options={clientOptions('All clients', props.clients)}
      />
      <button type="submit">Add channel</button>
    </ActionForm>
  );
}
