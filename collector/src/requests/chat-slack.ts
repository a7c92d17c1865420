/**
 * Slack's side of the chat requests: the request signature and its replay window, the workspace-to-client map,
 * and filing a request in the background with the reply posted to Slack's `response_url` (only to the allowed
 * prefixes, so a forged URL cannot make the collector call elsewhere).
 */
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { CollectorSettings } from '../config.js';
import type { Incident } from '../incidents/index.js';
import type { Requests } from './service.js';
import { SLACK_MAX_SKEW_MS, verifySlack } from './signatures.js';

const REPLY_TIMEOUT_MS = 5_000;

/** What the chat routes need. */
export interface ChatDeps {
  requests: Requests;
  settings: CollectorSettings['requests'];
  now(): number;
  logger: Logger;
}

/** A coded 400 for a chat request that is not what its platform sends. */
export const bad = (message: string) => new OutpostError('OUTPOST_E_BAD_REQUEST', { message });
/** The first value of a request header. */
export const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
/** Slack's mrkdwn escaping: a requester's `<!channel>` or `<http://x|y>` stays text. */
export const slackText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** The line that tells the requester which ticket was opened. */
export const ticketLine = (i: Incident) => `Ticket ${i.id} opened (${i.criticality}, ${i.status}): ${i.title}`;

/** The Slack helpers of one chat plugin (each holds its own replay window). */
export interface SlackTools {
  /** Verifies the Slack request of `raw` and returns its parsed form fields. */
  verifiedSlack(req: { headers: Record<string, string | string[] | undefined> }, raw: string): URLSearchParams;
  /** The client a Slack workspace is mapped to. */
  clientOfTeam(teamId: string): string;
  /** Files in the background and replies to Slack (Slack wants its answer within 3 s). */
  fileForSlack(r: Parameters<Requests['file']>[0], responseUrl: string, threadTs?: string): void;
}

/** Slack's settings, or a coded refusal when Slack is not configured. */
function slackSettings(settings: CollectorSettings['requests']) {
  if (!settings.slack)
    throw new OutpostError('OUTPOST_E_CHAT_NOT_CONFIGURED', { message: 'Slack is not configured on this collector' });
  return settings.slack;
}

/** Posts the reply to Slack's response_url, if it is one we may call. */
async function reply(d: ChatDeps, url: string, body: Record<string, unknown>): Promise<void> {
  const { logger } = d;
  if (!slackSettings(d.settings).responseUrlPrefixes.some((p) => url.startsWith(p))) {
    logger.warn({ host: URL.canParse(url) ? new URL(url).host : null }, 'slack response_url not allowed; no reply');
    return;
  }
  try {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
    });
    if (!r.ok) logger.warn({ status: r.status }, 'slack reply refused');
  } catch (err) {
    logger.warn({ err }, 'slack reply failed');
  }
}

/** Binds the Slack helpers to the chat dependencies. */
export function slackTools(d: ChatDeps): SlackTools {
  const { requests, settings, logger } = d;
  /** Signatures seen within the replay window: the same signed request twice is a replay. */
  const seen = new Map<string, number>();
  const once = (signature: string) => {
    const now = d.now();
    for (const [k, exp] of seen) if (exp < now) seen.delete(k);
    if (seen.has(signature))
      throw new OutpostError('OUTPOST_E_CHAT_REPLAYED', { message: 'This Slack request was already received' });
    seen.set(signature, now + 2 * SLACK_MAX_SKEW_MS);
  };

  /** Verifies the Slack request of `raw` and returns its parsed form fields. */
  const verifiedSlack = (req: { headers: Record<string, string | string[] | undefined> }, raw: string) => {
    const s = slackSettings(settings);
    const signature = header(req.headers['x-slack-signature']);
    verifySlack(
      s.signingSecret,
      { timestamp: header(req.headers['x-slack-request-timestamp']), signature },
      raw,
      d.now(),
    );
    once(signature!);
    return new URLSearchParams(raw);
  };

  const clientOfTeam = (teamId: string) => {
    const clientId = slackSettings(settings).workspaces[teamId];
    if (!clientId)
      throw new OutpostError('OUTPOST_E_CHAT_NOT_CONFIGURED', {
        message: `Slack workspace ${teamId} is not mapped to a client`,
      });
    return clientId;
  };

  /** Files in the background and replies to Slack (Slack wants its answer within 3 s). */
  const fileForSlack = (r: Parameters<Requests['file']>[0], responseUrl: string, threadTs?: string): void => {
    void requests
      .file(r)
      .then(({ incident }) =>
        reply(d, responseUrl, {
          response_type: 'ephemeral',
          replace_original: false,
          text: slackText(ticketLine(incident)),
          ...(threadTs ? { thread_ts: threadTs } : {}),
        }),
      )
      .catch((err: unknown) => {
        logger.error({ err, clientId: r.clientId, channel: 'slack' }, 'slack request not filed');
        return reply(d, responseUrl, {
          response_type: 'ephemeral',
          text: slackText(`Your request could not be filed: ${(err as Error).message}`),
        });
      });
  };

  return { verifiedSlack, clientOfTeam, fileForSlack };
}
