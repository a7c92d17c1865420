/** The user's own API tokens (for the CLI and scripts): create — the secret is shown once, here — and revoke. */
import { useSignal } from '@preact/signals';
import { Api } from '../../api/client.js';
import { ActionForm, TextField } from '../../components/Form.js';
import { ErrorLine } from '../../components/Layout.js';
import { ago } from '../../format.js';
import { useList } from './load.js';

export function TokensSection() {
  const tokens = useList(() => Api.apiTokens().then((r) => r.tokens));
  const created = useSignal<{ name: string; token: string } | null>(null);
  return (
    <>
      <ErrorLine error={tokens.error.value} />
      {created.value && (
        <div class="notice" role="status">
          <p>{`Token "${created.value.name}" — copy it now, it is not shown again:`}</p>
          <code data-testid="new-token">{created.value.token}</code>
        </div>
      )}
      <table class="grid" aria-label="API tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {tokens.data.value?.map((t) => (
            <tr key={t.id} data-token={t.name}>
              <td>{t.name}</td>
              <td>{new Date(t.createdAt).toLocaleString()}</td>
              <td>{t.expiresAt ? new Date(t.expiresAt).toLocaleDateString() : 'never'}</td>
              <td>{ago(t.lastUsedAt)}</td>
              <td data-testid="state">{t.revokedAt ? 'revoked' : 'active'}</td>
              <td>
                {!t.revokedAt && (
                  <button
                    type="button"
                    aria-label={`Revoke ${t.name}`}
                    onClick={() => void tokens.act(() => Api.revokeApiToken(t.id))}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <NewTokenForm tokens={tokens} onCreated={(t) => (created.value = t)} />
    </>
  );
}

/** A new API token: its name and validity; the secret goes to `onCreated`, to be shown once. */
function NewTokenForm(props: {
  tokens: Pick<ReturnType<typeof useList<unknown>>, 'act'>;
  onCreated(created: { name: string; token: string }): void;
}) {
  const name = useSignal('');
  const days = useSignal('90');
  const create = () => {
    const n = name.value;
    return props.tokens.act(async () => {
      const r = await Api.createApiToken(n, Number(days.value) || undefined);
      props.onCreated({ name: n, token: r.token });
      name.value = '';
    });
  };
  return (
    <ActionForm class="filters" label="New API token" onSubmit={create}>
      <TextField label="Token name" name="token-name" required maxLength={100} value={name} />
      <TextField label="Valid for (days)" type="number" name="days" min={1} max={3650} value={days} />
      <button type="submit">Create token</button>
    </ActionForm>
  );
}
