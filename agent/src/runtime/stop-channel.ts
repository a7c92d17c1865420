/**
 * The service host's stop request. On Windows the agent runs under outpost-svc.exe (a Node process cannot answer the
 * Service Control Manager); on STOP the host writes "stop\n" to the agent's standard input and closes it, and
 * terminates the agent 20 s later (docs/0009-packaging.md, "Installers"). A pipe rather than a signal: Windows has
 * no SIGTERM for a process without a console, and a closed pipe also means the host itself is gone, so the agent
 * never outlives it. Active only when the host sets OUTPOST_STOP_CHANNEL=stdin: an agent started from a terminal
 * leaves its standard input alone.
 */
import type { Readable } from 'node:stream';

/** Why the agent was asked to stop: an explicit "stop" line, or the end of the channel (host gone). */
export type StopReason = 'stop' | 'eof';

/** A line longer than this is not a command: the channel is drained without buffering it. */
const MAX_LINE = 256;

/**
 * Calls `onStop` once, at the first "stop" line or at the end of `input`; other lines are ignored. Returns a
 * function that stops watching (and leaves the stream alone).
 */
export function watchStopChannel(input: Readable, onStop: (reason: StopReason) => void): () => void {
  let done = false;
  let line = '';
  let overlong = false;
  const fire = (reason: StopReason) => {
    if (done) return;
    done = true;
    detach();
    onStop(reason);
  };
  const onData = (chunk: Buffer | string) => {
    for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('latin1')) {
      if (ch === '\n') {
        if (!overlong && line.replace(/\r$/, '').trim() === 'stop') return fire('stop');
        line = '';
        overlong = false;
      } else if (!overlong) {
        line += ch;
        if (line.length > MAX_LINE) {
          overlong = true;
          line = '';
        }
      }
    }
  };
  const onEnd = () => fire('eof');
  const detach = () => {
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('close', onEnd);
    input.off('error', onEnd);
  };
  input.on('data', onData);
  input.once('end', onEnd);
  input.once('close', onEnd);
  // A broken pipe is the host gone too.
  input.once('error', onEnd);
  return () => {
    done = true;
    detach();
  };
}
