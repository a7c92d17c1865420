/** A small history router: the current path as a signal, and `navigate` for links (no full page loads). */
import { signal } from '@preact/signals';

/** The current path and query. */
export const route = signal({ path: location.pathname, search: location.search });

/** Goes to a console path, keeping the history. */
export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  route.value = { path: location.pathname, search: location.search };
}

addEventListener('popstate', () => {
  route.value = { path: location.pathname, search: location.search };
});
