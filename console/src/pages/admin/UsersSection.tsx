/**
 * Users and their roles: create (with one role, on every client or one), edit the roles (RolesEditor), disable and
 * enable. Global admins only.
 */
import { useSignal } from '@preact/signals';
import { Api } from '../../api/client.js';
import { ActionForm, clientOptions, SelectField, TextField } from '../../components/Form.js';
import { ErrorLine } from '../../components/Layout.js';
import { useList } from './load.js';
import { RolesEditor } from './RolesEditor.js';

const ROLE_OPTIONS = ['viewer', 'tier1', 'tier2', 'tier3', 'admin'].map((r) => ({ value: r, text: r }));

export function UsersSection() {
  const users = useList(() => Api.users().then((r) => r.users));
  const clients = useList(() => Api.clients().then((r) => r.clients));
  const editing = useSignal<string | null>(null);
  return (
    <>
      <ErrorLine error={users.error.value ?? clients.error.value} />
      <table class="grid" aria-label="Users">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">E-mail</th>
            <th scope="col">Roles</th>
            <th scope="col">TOTP</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.data.value?.map((u) => (
            <tr key={u.id} data-user={u.email}>
              <td>{u.name}</td>
              <td>{u.email}</td>
              <td data-testid="roles">
                {u.roles
                  .map(
                    (r) =>
                      `${r.role}@${r.clientId === null ? 'all clients' : (clients.data.value?.find((c) => c.id === r.clientId)?.name ?? r.clientId)}`,
                  )
                  .join(', ')}
              </td>
              <td>{u.totpEnabled ? 'on' : 'off'}</td>
              <td data-testid="state">{u.disabled ? 'disabled' : 'active'}</td>
              <td>
                {editing.value === u.id ? (
                  <RolesEditor
                    user={u}
                    clients={clients.data.value ?? []}
                    onCancel={() => (editing.value = null)}
                    onSave={async (roles) => {
                      const ok = await users.act(() => Api.setUserRoles(u.id, roles));
                      if (ok) editing.value = null;
                      return ok;
                    }}
                  />
                ) : (
                  <button type="button" aria-label={`Edit roles of ${u.email}`} onClick={() => (editing.value = u.id)}>
                    Edit roles
                  </button>
                )}{' '}
                <button
                  type="button"
                  onClick={() => void users.act(() => Api.setUserDisabled(u.id, !u.disabled))}
                  aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.email}`}
                >
                  {u.disabled ? 'Enable' : 'Disable'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>New user</h3>
      <NewUserForm users={users} clients={clients.data.value ?? []} />
    </>
  );
}

/** A new user with one role, on every client or one. */
function NewUserForm(props: {
  users: ReturnType<typeof useList<unknown>>;
  clients: readonly { id: string; name: string }[];
}) {
  const email = useSignal('');
  const name = useSignal('');
  const password = useSignal('');
  const role = useSignal('tier1');
  const clientId = useSignal('');
  const create = async () => {
    const ok = await props.users.act(() =>
      Api.createUser({
        email: email.value,
        name: name.value,
        password: password.value,
        roles: [{ role: role.value, clientId: clientId.value || null }],
      }),
    );
    if (ok) email.value = name.value = password.value = '';
  };
  return (
    <ActionForm class="stack" label="New user" onSubmit={create}>
      <TextField label="E-mail" type="email" name="email" required value={email} />
      <TextField label="Name" name="name" required value={name} />
      <TextField
        label="Initial password"
        type="password"
        name="password"
        autocomplete="new-password"
        required
        value={password}
      />
      <SelectField label="Role" name="role" value={role} options={ROLE_OPTIONS} />
      <SelectField label="On" name="client" value={clientId} options={clientOptions('Every client', props.clients)} />
      <button type="submit">Create user</button>
    </ActionForm>
  );
}
