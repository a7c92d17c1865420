/** The frame of every page after login: navigation, who is logged in, the page's content. */
import type { ComponentChildren } from 'preact';
import { liveState } from '../api/live.js';
import { navigate, route } from '../router.js';
import { currentUser, logout } from '../session.js';

/** A console link that changes page without reloading. */
export function Link(props: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export function Layout(props: { children: ComponentChildren }) {
  const path = route.value.path;
  const item = (href: string, label: string) => (
    <li>
      <Link href={href} class={path.startsWith(href) ? 'active' : undefined}>
        {label}
      </Link>
    </li>
  );
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Outpost</span>
        <nav aria-label="Main">
          <ul>
            {item('/fleet', 'Fleet')}
            {item('/incidents', 'Incidents')}
            {item('/reports', 'Reports')}
            {item('/admin', 'Admin')}
          </ul>
        </nav>
        <span class={`live ${liveState.value}`} data-live={liveState.value} title="Live updates">
          {liveState.value === 'open' ? 'live' : liveState.value === 'connecting' ? 'reconnecting…' : 'offline'}
        </span>
        <Link href="/account" class="who">
          {currentUser.value?.email ?? ''}
        </Link>
        <button type="button" class="link" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <main id="main">{props.children}</main>
    </div>
  );
}

/** An error line (coded refusals show their code). */
export function ErrorLine(props: { error: unknown }) {
  if (!props.error) return null;
  const e = props.error as { code?: string; message?: string };
  return (
    <p class="error" role="alert">
      {e.code ? `${e.code}: ` : ''}
      {e.message ?? String(props.error)}
    </p>
  );
}
