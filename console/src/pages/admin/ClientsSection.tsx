/** Clients and their sites: the list for everyone who sees them; a new client (global admins) and new sites. */
import { useSignal } from '@preact/signals';
import { Api } from '../../api/client.js';
import type { Client, Site } from '../../api/types.js';
import { isGlobalAdmin } from '../../can.js';
import { ActionForm, clientOptions, SelectField, TextField } from '../../components/Form.js';
import { ErrorLine } from '../../components/Layout.js';
import { currentUser } from '../../session.js';
import { useList } from './load.js';

export function ClientsSection() {
  const list = useList(async () => {
    const clients = (await Api.clients()).clients as Client[];
    const sites = await Promise.all(clients.map((c) => Api.sites(c.id).then((r) => r.sites as Site[])));
    return clients.map((c, i) => ({ ...c, sites: sites[i] ?? [] }));
  });
  return (
    <>
      <ErrorLine error={list.error.value} />
      <table class="grid" aria-label="Clients and sites">
        <thead>
          <tr>
            <th scope="col">Client</th>
            <th scope="col">Sites</th>
            <th scope="col">Id</th>
          </tr>
        </thead>
        <tbody>
          {list.data.value?.map((c) => (
            <tr key={c.id} data-client={c.name}>
              <td>{c.name}</td>
              <td>{c.sites.map((s) => s.name).join(', ') || '—'}</td>
              <td>
                <code>{c.id}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {isGlobalAdmin(currentUser.value) && <NewClientForm list={list} />}
      <NewSiteForm list={list} clients={list.data.value ?? []} />
    </>
  );
}

/** What the forms need of the list: its action runner (which reloads it). */
type Acts = Pick<ReturnType<typeof useList<unknown>>, 'act'>;

/** A new client (global admins). */
function NewClientForm(props: { list: Acts }) {
  const clientName = useSignal('');
  const create = async () => {
    if (await props.list.act(() => Api.createClient(clientName.value))) clientName.value = '';
  };
  return (
    <ActionForm class="filters" label="New client" onSubmit={create}>
      <TextField label="Client name" name="client-name" required value={clientName} />
      <button type="submit">Create client</button>
    </ActionForm>
  );
}

/** A new site of a client, in a time zone (the browser's by default). */
function NewSiteForm(props: { list: Acts; clients: readonly { id: string; name: string }[] }) {
  const siteClient = useSignal('');
  const siteName = useSignal('');
  const timezone = useSignal(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const create = async () => {
    if (await props.list.act(() => Api.createSite(siteClient.value, siteName.value, timezone.value)))
      siteName.value = '';
  };
  return (
    <ActionForm class="filters" label="New site" onSubmit={create}>
      <SelectField
        label="Client"
        name="site-client"
        required
        value={siteClient}
        options={clientOptions('Choose…', props.clients)}
      />
      <TextField label="Site name" name="site-name" required value={siteName} />
      <TextField label="Time zone" name="timezone" required value={timezone} />
      <button type="submit">Create site</button>
    </ActionForm>
  );
}
