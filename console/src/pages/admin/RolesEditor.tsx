/**
 * A user's roles, edited as a list of bindings (a role on every client or on one) and saved at once
 * (`PUT /api/v1/users/:id/roles`, global admins). The collector refuses an empty list and an admin removing their
 * own global admin role; their next request is judged by the new roles and their live shells end.
 */
import { useSignal } from '@preact/signals';
import type { AdminUser } from '../../api/types.js';

const ROLES = ['viewer', 'tier1', 'tier2', 'tier3', 'admin'];

type Binding = { role: string; clientId: string | null };

export function RolesEditor(props: {
  user: AdminUser;
  clients: readonly { id: string; name: string }[];
  onSave(roles: Binding[]): Promise<boolean>;
  onCancel(): void;
}) {
  const roles = useSignal<Binding[]>(props.user.roles.map((r) => ({ role: r.role, clientId: r.clientId })));
  const role = useSignal('tier1');
  const clientId = useSignal('');
  const name = (id: string | null) =>
    id === null ? 'all clients' : (props.clients.find((c) => c.id === id)?.name ?? id);
  return (
    <form
      class="stack roles-editor"
      aria-label={`Roles of ${props.user.email}`}
      onSubmit={async (e) => {
        e.preventDefault();
        await props.onSave(roles.value);
      }}
    >
      <ul aria-label="Role bindings">
        {roles.value.map((b, i) => (
          <li key={`${b.role}@${b.clientId ?? '*'}`}>
            {`${b.role}@${name(b.clientId)} `}
            <button
              type="button"
              class="link"
              aria-label={`Remove ${b.role}@${name(b.clientId)}`}
              onClick={() => (roles.value = roles.value.filter((_, j) => j !== i))}
            >
              remove
            </button>
          </li>
        ))}
      </ul>
      <div class="filters">
        <label>
          Role
          <select name="add-role" value={role.value} onChange={(e) => (role.value = e.currentTarget.value)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          On
          <select name="add-client" value={clientId.value} onChange={(e) => (clientId.value = e.currentTarget.value)}>
            <option value="">Every client</option>
            {props.clients.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          onClick={() => {
            const b = { role: role.value, clientId: clientId.value || null };
            if (!roles.value.some((x) => x.role === b.role && x.clientId === b.clientId))
              roles.value = [...roles.value, b];
          }}
        >
          Add role
        </button>
      </div>
      <div class="filters">
        <button type="submit">Save roles</button>
        <button type="button" class="link" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
