/**
 * Request signatures of the chat platforms (docs/0014-requests.md). Pure functions over the raw body: the body as
 * received, byte for byte, never a re-serialised parse.
 * - Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:" + X-Slack-Request-Timestamp + ":" + body)>`;
 *   a timestamp more than 5 minutes from our clock is a replay.
 * - Teams outgoing webhook: `Authorization: HMAC <base64 HMAC-SHA256(base64-decoded security token, body)>`.
 * Comparisons are constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OutpostError } from '@outpost/shared';

/** How far a Slack timestamp may be from the collector's clock. */
export const SLACK_MAX_SKEW_MS = 5 * 60_000;

const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
const forged = (message: string) => new OutpostError('OUTPOST_E_CHAT_SIGNATURE', { message });

/** Checks a Slack request; throws OUTPOST_E_CHAT_SIGNATURE (forged) or OUTPOST_E_CHAT_REPLAYED (too old). */
export function verifySlack(
  secret: string,
  headers: { timestamp?: string | undefined; signature?: string | undefined },
  body: string,
  now: number,
): void {
  const ts = headers.timestamp ?? '';
  if (!/^\d{1,12}$/.test(ts) || !headers.signature) throw forged('The Slack signature headers are missing');
  const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  if (!same(Buffer.from(headers.signature), Buffer.from(expected))) throw forged('The Slack signature does not match');
  // Checked after the signature, so an unsigned request learns nothing about our clock.
  if (Math.abs(now - Number(ts) * 1000) > SLACK_MAX_SKEW_MS)
    throw new OutpostError('OUTPOST_E_CHAT_REPLAYED', {
      message: 'The Slack request timestamp is more than 5 minutes from the collector clock',
    });
}

/** Which of the Teams webhooks signed the body (its index); throws OUTPOST_E_CHAT_SIGNATURE when none did. */
export function verifyTeams(secrets: readonly string[], authorization: string | undefined, body: string): number {
  const m = /^HMAC ([A-Za-z0-9+/]+={0,2})$/.exec(authorization ?? '');
  if (!m) throw forged('The Teams Authorization header is missing or not HMAC');
  const given = Buffer.from(m[1]!, 'base64');
  const index = secrets.findIndex((s) =>
    same(given, createHmac('sha256', Buffer.from(s, 'base64')).update(body, 'utf8').digest()),
  );
  if (index < 0) throw forged('The Teams signature does not match any configured webhook');
  return index;
}

/** Signs like Slack (tests and the README's curl example). */
export function slackSignature(secret: string, timestampSec: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestampSec}:${body}`).digest('hex')}`;
}

/** Signs like a Teams outgoing webhook. */
export function teamsAuthorization(secret: string, body: string): string {
  return `HMAC ${createHmac('sha256', Buffer.from(secret, 'base64')).update(body, 'utf8').digest('base64')}`;
}
