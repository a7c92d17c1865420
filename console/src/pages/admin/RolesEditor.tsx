/**
 * A user's roles, edited as a list of bindings (a role on every client or on one) and saved at once
 * (`PUT /api/v1/users/:id/roles`, global admins). The collector refuses an empty list and an admin removing their
 * own global admin role; their next request is judged by the new roles and their live shells end.
 */
import { useSignal } from '@preact/signals';
import type { AdminUser } from '../../api/types.js';
import { ActionForm, clientOptions, SelectField } from '../../components/Form.js';

const ROLE_OPTIONS = ['viewer', 'tier1', 'tier2', 'tier3', 'admin'].map((r) => ({ value: r, text: r }));

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
    <ActionForm
      class="stack roles-editor"
      label={`Roles of ${props.user.email}`}
      onSubmit={() => props.onSave(roles.value)}
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
        <SelectField label="Role" name="add-role" value={role} options={ROLE_OPTIONS} />
        <SelectField
          label="On"
          name="add-client"
          value={clientId}
          options={clientOptions('Every client', props.clients)}
        />
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
    </ActionForm>
  );
}
