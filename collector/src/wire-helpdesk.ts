/**
 * The helpdesk's e-mail side (docs/0014-requests.md), when configured: the SMTP receiver that turns mail into tickets,
 * the relay that answers (acknowledgement, resolution, the self-service sign-in link), and the users' self-service
 * page, which needs that relay. Wired apart from `wireCore` because all of it is optional and hangs on one setting.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreInput } from './core.js';
import type { Incident, IncidentService } from './incidents/index.js';
import { EmailReceiver, EmailReplies, type Requests, SelfService } from './requests/index.js';

/** What the helpdesk needs from the rest of the wiring. */
export interface HelpdeskPorts {
  agents: { label(agentId: string): Promise<string | undefined> };
}

/** Builds the receiver, the relay and the self-service page the configuration asks for (each may be absent). */
export function wireHelpdesk(
  input: CoreInput,
  spine: HelpdeskPorts,
  work: { incidents: IncidentService; requests: Requests },
) {
  const { incidents } = work;
  // The helpdesk's SMTP receiver, when configured (docs/0014-requests.md).
  const mail = input.config.requests.email;
  const replies =
    mail?.relay &&
    new EmailReplies(mail.relay, mail.messageIdDomain, input.config.logger.child({ concern: 'requests' }));
  if (replies) {
    // The resolution goes back to an e-mail requester once, at the change that resolved the ticket (a status seen
    // for the first time since the start counts as a change; a closed ticket is forgotten).
    const last = new Map<string, string>();
    incidents.onChange((i) => {
      if (i.channel !== 'email') return;
      const before = last.get(i.id);
      if (i.status === 'closed') last.delete(i.id);
      else last.set(i.id, i.status);
      if (i.status !== 'resolved' || before === 'resolved') return;
      void work.requests
        .request(i.id)
        .then((r) => r?.requesterContact && replies.resolved(i, r.requesterContact))
        .catch((err: unknown) => input.config.logger.error({ err, incidentId: i.id }, 'resolution mail failed'));
    });
  }
  // The users' self-service page (docs/0014-requests.md): links go out through the same relay.
  const selfSettings = input.config.requests.selfService;
  const selfService =
    replies && selfSettings
      ? new SelfService({
          db: input.sql,
          settings: selfSettings,
          clock: input.config.clock,
          logger: input.config.logger.child({ concern: 'requests' }),
          deps: {
            incidents,
            hostname: (agentId) => spine.agents.label(agentId),
            sendLink: (to, url, minutes) => replies.signInLink(to, url, minutes),
          },
        })
      : undefined;
  const email =
    mail &&
    new EmailReceiver(mail, {
      requests: work.requests,
      ...(replies ? { acknowledge: (i: Incident, to: string, ref?: string) => replies.acknowledge(i, to, ref) } : {}),
      clientOfDomain: (domain) => Object.entries(mail.domains).find(([d]) => d.toLowerCase() === domain)?.[1],
      incidents,
      attachmentsDir: join(
        input.config.dataDir === ':memory:' ? tmpdir() : input.config.dataDir,
        'request-attachments',
      ),
      logger: input.config.logger.child({ concern: 'requests' }),
    });
  return { replies, selfService, email };
}
