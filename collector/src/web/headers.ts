/**
 * The security headers of every answer the API listener gives (console pages, assets and JSON alike).
 * Why each one is what it is: docs/0012-console.md.
 */

/**
 * The console's Content-Security-Policy. Scripts only from this origin (no inline script, no eval). `style-src`
 * allows inline styles because xterm.js injects `<style>` elements for its cell sizes and colours (xtermjs#4445):
 * without it the terminal draws nothing legible. Connections only to this origin (fetch, and the shell WebSocket:
 * CSP 3 lets `'self'` match ws/wss of the same host). Nothing may frame the console.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers set on every answer of the API listener. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Hashed build assets never change under their name; the page that names them is always revalidated. */
export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
export const CACHE_REVALIDATE = 'no-cache';
