/**
 * Login with password, then the one-time code when the account has TOTP on (the API answers
 * OUTPOST_E_TOTP_REQUIRED after a right password). The session becomes the HttpOnly cookie the answer sets.
 */
import { useSignal } from '@preact/signals';
import { Api, ApiError, csrfToken } from '../../api/client.js';
import { ErrorLine } from '../../components/Layout.js';
import { navigate } from '../../router.js';
import { currentUser } from '../../session.js';

/** Keeps the session's CSRF token and user, then goes where the login was asked from (same origin only). */
function startSession(answer: Awaited<ReturnType<typeof Api.login>>): void {
  csrfToken.value = answer.csrfToken;
  currentUser.value = answer.user;
  const next = new URLSearchParams(location.search).get('next');
  navigate(next?.startsWith('/') && !next.startsWith('//') ? next : '/fleet', true);
}

export function LoginPage() {
  const email = useSignal('');
  const password = useSignal('');
  const totp = useSignal('');
  const needTotp = useSignal(false);
  const error = useSignal<unknown>(null);
  const busy = useSignal(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      const answer = await Api.login({
        email: email.value,
        password: password.value,
        ...(needTotp.value ? { totp: totp.value } : {}),
      });
      startSession(answer);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'OUTPOST_E_TOTP_REQUIRED') {
        needTotp.value = true;
        queueMicrotask(() => document.getElementById('totp')?.focus());
      } else error.value = err;
    } finally {
      busy.value = false;
    }
  };

  return (
    <main id="main" class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Outpost console</h1>
        <label for="email">E-mail</label>
        <input
          id="email"
          type="email"
          autocomplete="username"
          required
          value={email.value}
          onInput={(e) => {
            email.value = e.currentTarget.value;
          }}
        />
        <label for="password">Password</label>
        <input
          id="password"
          type="password"
          autocomplete="current-password"
          required
          value={password.value}
          onInput={(e) => {
            password.value = e.currentTarget.value;
          }}
        />
        {needTotp.value && (
          <>
            <label for="totp">One-time code</label>
            <input
              id="totp"
              inputMode="numeric"
              autocomplete="one-time-code"
              pattern="[0-9]{6}"
              maxLength={6}
              required
              value={totp.value}
              onInput={(e) => {
                totp.value = e.currentTarget.value;
              }}
            />
          </>
        )}
        <button type="submit" disabled={busy.value}>
          {needTotp.value ? 'Verify' : 'Log in'}
        </button>
        <ErrorLine error={error.value} />
      </form>
    </main>
  );
}
