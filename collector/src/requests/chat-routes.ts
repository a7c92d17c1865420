/**
 * Slack and Microsoft Teams endpoints (docs/0014-requests.md): a Slack slash command (`/helpdesk the printer is
 * offline`) or message action ("File as a ticket" on a message), and a Teams outgoing webhook (@Outpost in a
 * channel). Each request is verified against its platform's signature over the raw body before anything is parsed
 * or stored; a forged or replayed one gets a coded 401 and files nothing. Replies go back where the user asked: to
 * Slack's `response_url` (only to the prefixes the configuration allows, so a forged URL cannot make the collector
 * call elsewhere), in the response body for Teams.
 */

import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { bad, type ChatDeps, header, type SlackTools, slackText, slackTools, ticketLine } from './chat-slack.js';
import { MAX_TEXT } from './service.js';
import { SLACK_MAX_SKEW_MS, verifyTeams } from './signatures.js';

export type { ChatDeps } from './chat-slack.js';

const SLACK_BODY_LIMIT = 64 * 1024;
const TEAMS_BODY_LIMIT = 256 * 1024;

const SlackCommand = TypeCompiler.Compile(
  Type.Object({
    team_id: Type.String({ pattern: '^T[A-Z0-9]{2,30}$' }),
    user_id: Type.String({ pattern: '^[UW][A-Z0-9]{2,30}$' }),
    user_name: Type.String({ minLength: 1, maxLength: 100 }),
    text: Type.String({ maxLength: MAX_TEXT }),
    response_url: Type.String({ maxLength: 2048 }),
    trigger_id: Type.String({ pattern: '^[A-Za-z0-9.]{1,100}$' }),
  }),
);
const SlackAction = TypeCompiler.Compile(
  Type.Object({
    type: Type.Literal('message_action'),
    team: Type.Object({ id: Type.String({ pattern: '^T[A-Z0-9]{2,30}$' }) }),
    user: Type.Object({
      id: Type.String({ pattern: '^[UW][A-Z0-9]{2,30}$' }),
      name: Type.String({ minLength: 1, maxLength: 100 }),
    }),
    message: Type.Object({ text: Type.String({ maxLength: MAX_TEXT }), ts: Type.String({ maxLength: 32 }) }),
    response_url: Type.String({ maxLength: 2048 }),
    trigger_id: Type.String({ pattern: '^[A-Za-z0-9.]{1,100}$' }),
  }),
);
const TeamsMessage = TypeCompiler.Compile(
  Type.Object({
    type: Type.Literal('message'),
    id: Type.String({ minLength: 1, maxLength: 200 }),
    timestamp: Type.String({ maxLength: 64 }),
    text: Type.String({ maxLength: MAX_TEXT * 2 }),
    from: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }), name: Type.String({ maxLength: 200 }) }),
  }),
);

/** Teams renders HTML in a message: what we echo stays text. */
const teamsText = (s: string) => slackText(s);
/** A Teams message is HTML with the bot's @mention: plain words for the ticket. */
const teamsPlain = (html: string) =>
  html
    .replace(/<at>.*?<\/at>/g, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .trim();

/** The chat routes plugin: its own raw-body parsers, so signatures are checked over the bytes Slack and Teams sent. */
export function chatRoutes(d: ChatDeps): FastifyPluginAsync {
  const slack = slackTools(d);
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      ['application/x-www-form-urlencoded', 'application/json'],
      { parseAs: 'string', bodyLimit: TEAMS_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );

    slackCommandRoute(app, slack);
    slackActionRoute(app, slack);
    teamsRoute(app, d);
  };
}

/** POST /api/v1/chat/slack/commands: `/helpdesk the printer is offline` files a ticket. */
function slackCommandRoute(app: FastifyInstance, slack: SlackTools): void {
  const { verifiedSlack, clientOfTeam, fileForSlack } = slack;
  app.post('/api/v1/chat/slack/commands', { config: { public: true }, bodyLimit: SLACK_BODY_LIMIT }, async (req) => {
    if (typeof req.body !== 'string') throw bad('Expected a form body');
    const form = Object.fromEntries(verifiedSlack(req, req.body));
    if (!SlackCommand.Check(form)) throw bad('The Slack command does not have the expected fields');
    const clientId = clientOfTeam(form.team_id);
    if (!form.text.trim())
      return {
        response_type: 'ephemeral',
        text: 'Say what is wrong after the command, e.g. `/helpdesk the printer is offline`.',
      };
    fileForSlack(
      {
        clientId,
        channel: 'slack',
        origin: `slack:${form.team_id}:${form.trigger_id}`,
        text: form.text,
        requester: { name: form.user_name, handle: `slack:${form.user_id}` },
      },
      form.response_url,
    );
    return { response_type: 'ephemeral', text: 'Thanks — filing your request with the support desk…' };
  });
}

/** POST /api/v1/chat/slack/actions: "File as a ticket" on a Slack message, the ticket going to its thread. */
function slackActionRoute(app: FastifyInstance, slack: SlackTools): void {
  const { verifiedSlack, clientOfTeam, fileForSlack } = slack;
  app.post(
    '/api/v1/chat/slack/actions',
    { config: { public: true }, bodyLimit: SLACK_BODY_LIMIT },
    async (req, res) => {
      if (typeof req.body !== 'string') throw bad('Expected a form body');
      const form = verifiedSlack(req, req.body);
      let payload: unknown;
      try {
        payload = JSON.parse(form.get('payload') ?? '');
      } catch {
        throw bad('The Slack action payload is not JSON');
      }
      if (!SlackAction.Check(payload)) throw bad('The Slack action does not have the expected fields');
      const clientId = clientOfTeam(payload.team.id);
      fileForSlack(
        {
          clientId,
          channel: 'slack',
          origin: `slack:${payload.team.id}:${payload.trigger_id}`,
          text: payload.message.text,
          requester: { name: payload.user.name, handle: `slack:${payload.user.id}` },
        },
        payload.response_url,
        payload.message.ts,
      );
      // Slack wants an empty 200 for a message action; the ticket goes to the thread through response_url.
      return res.status(200).send('');
    },
  );
}

/** POST /api/v1/chat/teams: an @Outpost mention in a Teams channel, answered in the response body. */
function teamsRoute(app: FastifyInstance, d: ChatDeps): void {
  const { requests, settings } = d;
  app.post('/api/v1/chat/teams', { config: { public: true }, bodyLimit: TEAMS_BODY_LIMIT }, async (req) => {
    const hooks = settings.teams?.webhooks;
    if (!hooks)
      throw new OutpostError('OUTPOST_E_CHAT_NOT_CONFIGURED', {
        message: 'Teams is not configured on this collector',
      });
    if (typeof req.body !== 'string') throw bad('Expected a JSON body');
    const index = verifyTeams(
      hooks.map((h) => h.secret),
      header(req.headers.authorization),
      req.body,
    );
    let msg: unknown;
    try {
      msg = JSON.parse(req.body);
    } catch {
      throw bad('The Teams message is not JSON');
    }
    if (!TeamsMessage.Check(msg)) throw bad('The Teams message does not have the expected fields');
    const sent = Date.parse(msg.timestamp);
    if (!Number.isFinite(sent) || Math.abs(d.now() - sent) > SLACK_MAX_SKEW_MS)
      throw new OutpostError('OUTPOST_E_CHAT_REPLAYED', {
        message: 'The Teams message timestamp is more than 5 minutes from the collector clock',
      });
    const text = teamsPlain(msg.text);
    if (!text)
      return {
        type: 'message',
        text: 'Say what is wrong after mentioning me, e.g. "@Outpost the printer is offline".',
      };
    const clientId = hooks[index]!.clientId;
    const { incident } = await requests.file({
      clientId,
      channel: 'teams',
      // Per client: a message id is the signing webhook's to write, so another client's id must not name its ticket.
      origin: `teams:${clientId}:${msg.id}`,
      text,
      requester: { name: msg.from.name || 'Teams user', handle: `teams:${msg.from.id}` },
    });
    return { type: 'message', text: teamsText(ticketLine(incident)) };
  });
}
