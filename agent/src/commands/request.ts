/**
 * `outpost-agent request "…"` and `outpost-agent request --status <ticket>`: a user on this machine asks the running
 * agent service for help through its local channel (docs/0014-requests.md). The command needs no privilege and reads
 * no agent file: it proves who it is by creating the file the agent names, and the agent does the rest.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isErrorCode, OutpostError, printCliError } from '@outpost/shared';
import type { LocalAnswer } from '../requests/local-protocol.js';
import { channelPaths, SYSTEM_REQUEST_DIR } from '../requests/paths.js';
import { createProof } from '../requests/proof.js';
import type { CliGlobals } from './globals.js';

/** The socket to use: OUTPOST_AGENT_REQUEST_DIR, else the agent's state directory's, else the system one. */
function socketPath(g: CliGlobals): string {
  if (process.env.OUTPOST_AGENT_REQUEST_DIR) return channelPaths(process.env.OUTPOST_AGENT_REQUEST_DIR).socket;
  const own = join(g.stateDir, 'request.sock');
  return existsSync(own) ? own : channelPaths(SYSTEM_REQUEST_DIR).socket;
}

/** Control characters out of what the collector sends back (the title holds the user's own words, still text). */
const plain = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ');

/** One exchange on the local channel: hello → proof → ask → answer (the agent tests speak it too). */
export function exchange(path: string, ask: object, timeoutMs: number): Promise<Extract<LocalAnswer, { ok: boolean }>> {
  return new Promise((resolve, reject) => {
    const unavailable = (cause?: unknown) =>
      new OutpostError('OUTPOST_E_REQUEST_UNAVAILABLE', {
        cause,
        message: `The agent service is not reachable at ${path}${cause ? `: ${(cause as Error).message}` : ''}`,
      });
    const sock = connect(path);
    let buf = '';
    let hello = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(unavailable(new Error('no answer in time')));
    }, timeoutMs);
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(unavailable(err));
    });
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: LocalAnswer;
        try {
          msg = JSON.parse(line) as LocalAnswer;
        } catch (cause) {
          clearTimeout(timer);
          sock.destroy();
          reject(unavailable(cause));
          return;
        }
        if (!hello && 'hello' in msg) {
          hello = true;
          try {
            createProof(msg.dir, msg.proof);
          } catch (err) {
            clearTimeout(timer);
            sock.destroy();
            reject(err);
            return;
          }
          sock.write(`${JSON.stringify(ask)}\n`);
        } else if ('ok' in msg) {
          clearTimeout(timer);
          sock.end();
          resolve(msg);
        }
      }
    });
  });
}

/** Files a request (`text`) or shows the status of one (`status`). */
export async function requestCommand(
  opts: { text?: string; status?: string; json: boolean },
  g: CliGlobals,
): Promise<void> {
  try {
    const text = opts.text?.trim() ?? '';
    if (!opts.status && !text)
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: 'Say what is wrong (`outpost-agent request "the printer is offline"`) or give --status <ticket>',
      });
    const path = socketPath(g);
    const answer = opts.status
      ? await exchange(path, { op: 'status', ticket: opts.status.trim() }, 30_000)
      : await exchange(path, { op: 'file', text }, 60_000);
    if (!answer.ok) {
      throw new OutpostError(isErrorCode(answer.code) ? answer.code : 'OUTPOST_E_INTERNAL', {
        message: plain(answer.message),
      });
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      return;
    }
    const t = answer.ticket;
    const lines = t
      ? [
          `ticket    ${t.id}`,
          `status    ${t.status}`,
          `title     ${plain(t.title)}`,
          `updated   ${new Date(t.updatedAt).toISOString()}`,
          `filed by  ${plain(answer.user)}`,
        ]
      : [
          `request   ${answer.ref} (queued: the support desk has not given it a ticket number yet)`,
          `filed by  ${plain(answer.user)}`,
          `status    outpost-agent request --status ${answer.ref}`,
        ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (err) {
    printCliError(err);
  }
}
