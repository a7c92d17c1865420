/**
 * A real SMTP relay on loopback (smtp-server) standing for the organisation's mail server in the helpdesk tests:
 * what the collector mails (sign-in links, replies to tickets) lands in `sent`, parsed. One helper so the e-mail and
 * self-service suites start the same relay; it cleans up with `close()` (or `await using`).
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A listening relay and the mails it received, in arrival order. */
export interface TestRelay {
  /** The port it listens on, on 127.0.0.1. */
  port: number;
  sent: ParsedMail[];
  /** Polls until `check` holds (the relay receives asynchronously); the timeout error lists what arrived. */
  until(check: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a relay on a free loopback port; no TLS, no authentication, as a LAN relay would accept the collector. */
export async function startRelay(): Promise<TestRelay> {
  const sent: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, _s, cb) => {
      simpleParser(stream).then((m) => {
        sent.push(m);
        cb();
      }, cb);
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => new Promise<void>((r) => server.close(() => r()));
  return {
    port: (server.server.address() as { port: number }).port,
    sent,
    async until(check, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      // Polling an outcome, not sleeping for a fixed time: each round waits 50 ms only while the mail is not there yet.
      while (!check()) {
        if (Date.now() > end)
          throw new Error(`timed out; the relay got: ${JSON.stringify(sent.map((m) => m.subject ?? ''))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
