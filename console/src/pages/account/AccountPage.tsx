/**
 * The technician's own account: who they are, their roles, and TOTP enrolment. A new secret is kept beside the
 * active factor until a code from it confirms it (docs/0008-auth.md), so a slip here never locks anyone out.
 * The secret is shown as a QR code of the otpauth URI (drawn in the page, QrCode.tsx) for the app's camera, and as
 * text to type in (and the URI), never as markup.
 */
import { type Signal, useSignal } from '@preact/signals';
import { lazy, Suspense } from 'preact/compat';
import { Api } from '../../api/client.js';
import { ErrorLine, Layout } from '../../components/Layout.js';
import { currentUser, restoreSession } from '../../session.js';

// The QR encoder is only needed while enrolling: its own chunk.
const QrCode = lazy(() => import('./QrCode.js'));

type Setup = { secret: string; uri: string };

export function AccountPage() {
  const user = currentUser.value;
  const setup = useSignal<Setup | null>(null);
  const error = useSignal<unknown>(null);
  const done = useSignal('');
  if (!user) return null;

  return (
    <Layout>
      <h1>Account</h1>
      <dl class="overview">
        <dt>Name</dt>
        <dd>{user.name}</dd>
        <dt>E-mail</dt>
        <dd>{user.email}</dd>
        <dt>Roles</dt>
        <dd>{user.roles.map((r) => `${r.role}${r.clientId ? ` on ${r.clientId}` : ' on every client'}`).join(', ')}</dd>
        <dt>One-time codes</dt>
        <dd data-testid="totp-state">{user.totpEnabled ? 'on' : 'off'}</dd>
      </dl>
      <h2>{user.totpEnabled ? 'Replace the authenticator' : 'Turn on one-time codes'}</h2>
      <ErrorLine error={error.value} />
      {done.value && (
        <p role="status" class="muted">
          {done.value}
        </p>
      )}
      {!setup.value ? (
        <SetupForm totpEnabled={user.totpEnabled} error={error} onSetup={(s) => (setup.value = s)} />
      ) : (
        <ConfirmForm
          setup={setup.value}
          error={error}
          onEnabled={() => {
            setup.value = null;
            done.value = 'One-time codes are on: the next login asks for one.';
          }}
        />
      )}
    </Layout>
  );
}

/** Step 1: the password (and the current code when a factor is on) gets a new secret. */
function SetupForm(props: { totpEnabled: boolean; error: Signal<unknown>; onSetup(s: Setup): void }) {
  const password = useSignal('');
  const currentCode = useSignal('');
  const { error } = props;
  return (
    <form
      class="stack"
      onSubmit={async (e) => {
        e.preventDefault();
        error.value = null;
        try {
          props.onSetup(await Api.totpSetup(password.value, props.totpEnabled ? currentCode.value : undefined));
          password.value = '';
        } catch (err) {
          error.value = err;
        }
      }}
    >
      <label for="acct-password">Password</label>
      <input
        id="acct-password"
        type="password"
        autocomplete="current-password"
        required
        value={password.value}
        onInput={(e) => (password.value = e.currentTarget.value)}
      />
      {props.totpEnabled && (
        <>
          <label for="acct-current-code">Current one-time code</label>
          <input
            id="acct-current-code"
            inputMode="numeric"
            pattern="[0-9]{6}"
            required
            value={currentCode.value}
            onInput={(e) => (currentCode.value = e.currentTarget.value)}
          />
        </>
      )}
      <button type="submit">Create a secret</button>
    </form>
  );
}

/** Step 2: the secret as a QR code and as text; a code from the app turns it on. */
function ConfirmForm(props: { setup: Setup; error: Signal<unknown>; onEnabled(): void }) {
  const code = useSignal('');
  const { error, setup } = props;
  return (
    <form
      class="stack"
      onSubmit={async (e) => {
        e.preventDefault();
        error.value = null;
        try {
          await Api.totpEnable(code.value);
          code.value = '';
          props.onEnabled();
          await restoreSession();
        } catch (err) {
          error.value = err;
        }
      }}
    >
      <p>Scan this code with your authenticator app (or type the secret below), then type the code it shows.</p>
      <Suspense fallback={<p class="muted">Drawing the QR code…</p>}>
        <QrCode text={setup.uri} label="QR code of the authenticator secret" />
      </Suspense>
      <p>
        Secret: <code data-testid="totp-secret">{setup.secret}</code>
      </p>
      <p class="muted">
        URI: <code>{setup.uri}</code>
      </p>
      <label for="acct-code">Code from the app</label>
      <input
        id="acct-code"
        inputMode="numeric"
        pattern="[0-9]{6}"
        autocomplete="one-time-code"
        required
        value={code.value}
        onInput={(e) => (code.value = e.currentTarget.value)}
      />
      <button type="submit">Confirm</button>
    </form>
  );
}
