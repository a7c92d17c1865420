/**
 * Who is logged in. The session itself is the HttpOnly cookie the login set: this module only remembers the user
 * and the CSRF token in memory, and recovers both from the API after a reload.
 */
import { batch, signal } from '@preact/signals';
import { Api, ApiError, csrfToken } from './api/client.js';
import { startLive, stopLive } from './api/live.js';
import type { User } from './api/types.js';
import { navigate } from './router.js';

/** The user, null when logged out, undefined while the first check runs. */
export const currentUser = signal<User | null | undefined>(undefined);

// The live stream follows the session: open while someone is logged in. Opened once the page has drawn (its TLS
// connection would otherwise compete with the first page's own requests); the page reads its rows meanwhile.
currentUser.subscribe((u) => {
  if (u)
    setTimeout(() => {
      if (currentUser.value) startLive();
    }, 300);
  else if (u === null) stopLive();
});

/** Asks the API whether the cookie still holds a session. */
export async function restoreSession(): Promise<void> {
  try {
    const [me, csrf] = await Promise.all([Api.me(), Api.csrf()]);
    csrfToken.value = csrf.csrfToken;
    currentUser.value = me;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) console.warn('session check failed', err);
    currentUser.value = null;
  }
}

/** Forgets the session here and on the collector, and shows the login page. */
export async function logout(): Promise<void> {
  await Api.logout().catch(() => undefined);
  // One render: the login page at /login (no `next`: logging out is not an interrupted visit).
  batch(() => {
    navigate('/login', true);
    csrfToken.value = null;
    currentUser.value = null;
  });
}
