/**
 * The self-service page's HTML, rendered on the server (docs/0014-requests.md, "Self-service"). Every string that
 * is not ours goes through `esc`: a ticket titled `<script>` shows as text. No script at all: plain forms, each
 * change carrying the session's CSRF token; the collector's CSP (no inline script) applies unchanged.
 */
import type { PublicEntry, UserTicket } from './self-service.js';

/** HTML-escapes text for element content and quoted attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const when = (t: number | null) =>
  t === null
    ? '—'
    : `<time datetime="${new Date(t).toISOString()}">${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;

const STATUS: Record<UserTicket['status'], string> = {
  open: 'Open',
  acknowledged: 'In progress',
  resolved: 'Resolved — please confirm',
  closed: 'Closed',
};

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1d3a5f;color:#fff;padding:.75rem 1.5rem;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff}main{max-width:52rem;margin:1.5rem auto;padding:0 1.5rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.5rem;border-bottom:1px solid #d0d5dc}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}input[type=email],textarea{width:100%;max-width:36rem;padding:.4rem;font:inherit}
button{font:inherit;padding:.4rem 1rem;margin:.5rem .5rem 0 0;cursor:pointer}
.notice{background:#e7f1ff;border-left:4px solid #1d3a5f;padding:.75rem 1rem}.error{background:#fdecea;border-left-color:#b3261e}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}
ol.timeline{list-style:none;padding:0}ol.timeline li{background:#fff;margin:.5rem 0;padding:.5rem .75rem;border-left:4px solid #8a94a3;white-space:pre-wrap}
ol.timeline li.you{border-left-color:#1d3a5f}ol.timeline li.support{border-left-color:#2e7d32}
header form{margin:0}header button{margin:0}`;

/** A whole page: `signedIn` gives the header its sign-out form (with the CSRF token). */
export function page(title: string, body: string, signedIn?: { email: string; csrf: string }): string {
  const account = signedIn
    ? `<form method="post" action="/help/sign-out"><span>${esc(signedIn.email)}</span>
<input type="hidden" name="csrf" value="${esc(signedIn.csrf)}"> <button type="submit">Sign out</button></form>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${esc(title)} — Help</title><style>${STYLE}</style></head>
<body><header><a href="/help/">Help desk</a>${account}</header><main><h1>${esc(title)}</h1>
${body}</main></body></html>`;
}

/** The sign-in form: an e-mail address. */
export function signInPage(notice?: string): string {
  return page(
    'Sign in',
    `${notice ? `<p class="notice" role="status">${esc(notice)}</p>` : ''}
<p>Type your e-mail address: we send you a link that signs you in to follow your requests.</p>
<form method="post" action="/help/sign-in"><label for="email">E-mail address</label>
<input id="email" name="email" type="email" required maxlength="254" autocomplete="email">
<div><button type="submit">Send me a sign-in link</button></div></form>`,
  );
}

/** The same answer whether the address is known or not. */
export function linkSentPage(minutes: number): string {
  return page(
    'Check your mailbox',
    `<p class="notice" role="status">If this address is known to the help desk, a sign-in link is on its way.
It works once, within ${minutes} minutes.</p><p><a href="/help/">Back</a></p>`,
  );
}

/**
 * What the mailed link opens: a button that spends it. A GET never spends a link, so a mail scanner that fetches
 * every link in a message cannot use it up before the user does.
 */
export function linkPage(token: string): string {
  return page(
    'Sign in',
    `<form method="post" action="/help/link"><input type="hidden" name="t" value="${esc(token)}">
<p>Sign in to follow your requests.</p><button type="submit">Sign in</button></form>`,
  );
}

/** The user's tickets. */
export function ticketsPage(tickets: UserTicket[], user: { email: string; csrf: string }): string {
  const rows = tickets
    .map(
      (t) => `<tr><td><a href="/help/tickets/${esc(t.id)}">${esc(t.id)}</a></td><td>${esc(t.title)}</td>
<td>${esc(STATUS[t.status])}</td><td>${when(t.updatedAt)}</td></tr>`,
    )
    .join('\n');
  return page(
    'Your requests',
    tickets.length
      ? `<table><caption class="notice">Newest first</caption><thead><tr><th scope="col">Ticket</th><th scope="col">Subject</th>
<th scope="col">Status</th><th scope="col">Updated</th></tr></thead><tbody>${rows}</tbody></table>`
      : '<p>You have no requests with the help desk.</p>',
    user,
  );
}

const entry = (e: PublicEntry) =>
  `<li class="${e.by}"><strong>${e.by === 'you' ? 'You' : e.by === 'support' ? 'Help desk' : 'Status'}</strong>, ${when(e.at)}<br>${esc(e.text)}</li>`;

/** One ticket: its state, its public timeline, a comment form, and the confirmation when resolved. */
export function ticketPage(t: UserTicket, user: { email: string; csrf: string }, notice?: string): string {
  const csrf = `<input type="hidden" name="csrf" value="${esc(user.csrf)}">`;
  const confirm =
    t.status === 'resolved'
      ? `<section aria-labelledby="confirm-h"><h2 id="confirm-h">Is it fixed?</h2>
${t.resolutionNote ? `<p>${esc(t.resolutionNote)}</p>` : ''}
<form method="post" action="/help/tickets/${esc(t.id)}/confirm">${csrf}
<button type="submit" name="answer" value="fixed">Yes, it is fixed</button>
<button type="submit" name="answer" value="broken">No, it is still broken</button></form></section>`
      : '';
  return page(
    `Ticket ${t.id}`,
    `${notice ? `<p class="notice error" role="alert">${esc(notice)}</p>` : ''}
<p>${esc(t.title)}</p>
<dl><dt>Status</dt><dd id="status">${esc(STATUS[t.status])}</dd><dt>Received by</dt><dd>${esc(t.channel)}</dd>
${t.machine ? `<dt>Machine</dt><dd>${esc(t.machine)}</dd>` : ''}<dt>Opened</dt><dd>${when(t.openedAt)}</dd>
<dt>Updated</dt><dd>${when(t.updatedAt)}</dd><dt>Resolved</dt><dd>${when(t.resolvedAt)}</dd>
<dt>Closed</dt><dd>${when(t.closedAt)}</dd></dl>
${confirm}
<section aria-labelledby="history-h"><h2 id="history-h">History</h2><ol class="timeline">${t.timeline.map(entry).join('\n')}</ol></section>
<section aria-labelledby="comment-h"><h2 id="comment-h">Add a comment</h2>
<form method="post" action="/help/tickets/${esc(t.id)}/comments">${csrf}<label for="text">Your comment</label>
<textarea id="text" name="text" rows="4" maxlength="4000" required></textarea>
<div><button type="submit">Send</button></div></form></section>
<p><a href="/help/">All your requests</a></p>`,
    user,
  );
}

/** An error, with its code (as every answer of the collector). */
export function errorPage(status: number, code: string, message: string): string {
  return page(
    status === 404 ? 'Not found' : status === 401 ? 'Please sign in' : 'Something went wrong',
    `<p class="notice error" role="alert">${esc(message)}</p><p><code>${esc(code)}</code></p>
<p><a href="/help/">Back to the help page</a></p>`,
  );
}
