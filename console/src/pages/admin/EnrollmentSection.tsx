/**
 * Enrollment tokens and the install one-liners: "Create installers" asks the collector for a token and the same
 * pinned, hash-checked commands `outpost installers create` prints (POST /api/v1/installers); the token and the
 * lines are shown once. The list shows every token's use and expiry, and revokes.
 */
import { useSignal } from '@preact/signals';
import { Api } from '../../api/client.js';
import type { InstallersAnswer } from '../../api/types.js';
import { ActionForm, SelectField, TextField } from '../../components/Form.js';
import { ErrorLine } from '../../components/Layout.js';
import { useList } from './load.js';

export function EnrollmentSection() {
  const tokens = useList(() => Api.enrollmentTokens().then((r) => r.tokens));
  const sites = useList(async () => {
    const clients = (await Api.clients()).clients;
    const lists = await Promise.all(
      clients.map((c) =>
        Api.sites(c.id).then((r) => r.sites.map((s) => ({ id: s.id, label: `${c.name} / ${s.name}` }))),
      ),
    );
    return lists.flat();
  });
  const created = useSignal<InstallersAnswer | null>(null);
  const siteLabel = (id: string) => sites.data.value?.find((s) => s.id === id)?.label ?? id;
  return (
    <>
      <ErrorLine error={tokens.error.value ?? sites.error.value} />
      <InstallersForm tokens={tokens} sites={sites.data.value ?? []} onCreated={(answer) => (created.value = answer)} />
      {created.value && <InstallersNotice created={created.value} siteLabel={siteLabel} />}
      <table class="grid" aria-label="Enrollment tokens">
        <thead>
          <tr>
            <th scope="col">Token</th>
            <th scope="col">Site</th>
            <th scope="col">Uses</th>
            <th scope="col">Expires</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {tokens.data.value?.map((t) => (
            <tr key={t.id} data-token={t.id}>
              <td>
                <code>{t.id}</code> {t.note}
              </td>
              <td>{siteLabel(t.siteId)}</td>
              <td>{`${t.uses} / ${t.maxUses}`}</td>
              <td>{new Date(t.expiresAt).toLocaleString()}</td>
              <td data-testid="state">{t.status}</td>
              <td>
                {t.status === 'active' && (
                  <button
                    type="button"
                    aria-label={`Revoke ${t.id}`}
                    onClick={() => void tokens.act(() => Api.revokeEnrollmentToken(t.id))}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Site, validity and uses of the token the installers carry; the collector's answer goes to `onCreated`. */
function InstallersForm(props: {
  tokens: Pick<ReturnType<typeof useList<unknown>>, 'act'>;
  sites: readonly { id: string; label: string }[];
  onCreated(answer: InstallersAnswer): void;
}) {
  const siteId = useSignal('');
  const hours = useSignal('168');
  const uses = useSignal('100');
  const create = () =>
    props.tokens.act(async () => {
      props.onCreated(
        await Api.createInstallers({
          siteId: siteId.value,
          expiresInHours: Number(hours.value),
          maxUses: Number(uses.value),
        }),
      );
    });
  return (
    <ActionForm class="filters" label="Create installers" onSubmit={create}>
      <SelectField
        label="Site"
        name="site"
        required
        value={siteId}
        options={[{ value: '', text: 'Choose…' }, ...props.sites.map((x) => ({ value: x.id, text: x.label }))]}
      />
      <TextField label="Valid for (hours)" type="number" name="hours" min={1} max={8760} value={hours} />
      <TextField label="Uses" type="number" name="uses" min={1} value={uses} />
      <button type="submit">Create installers</button>
    </ActionForm>
  );
}

/** The token and the one-liners, shown once. */
function InstallersNotice({ created, siteLabel }: { created: InstallersAnswer; siteLabel(id: string): string }) {
  return (
    <div class="notice" role="status" aria-label="Installers">
      <p>{`Token ${created.tokenId} for ${siteLabel(created.siteId)}: ${created.maxUses} use(s), expires ${new Date(created.expiresAt).toLocaleString()}. Shown once.`}</p>
      {created.certificate ? (
        <p>{`Collector certificate SHA-256 ${created.certificate.fingerprint}`}</p>
      ) : (
        <p class="error">The collector serves plain HTTP: downloads are checked by hash only.</p>
      )}
      {created.installers.map((l) => (
        <div key={l.platform}>
          <h3>{`${l.platform} (${l.shell !== undefined ? 'shell, as a user who may sudo' : 'elevated PowerShell'})`}</h3>
          <pre class="oneliner" data-platform={l.platform}>
            {l.shell ?? l.powershell}
          </pre>
        </div>
      ))}
    </div>
  );
}
