/** What both command-line programs do with their output streams and their errors. */
import { OutpostError } from './errors.js';

/**
 * A reader that closed the pipe (`outpost … | head`) is not an error: the program stops quietly, as `ls | head`
 * does, instead of dying on an unhandled EPIPE with a stack trace.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
}

/** Prints an error the way every command does (coded: code, message, hint) and sets a failing exit code. */
export function printCliError(err: unknown): void {
  if (err instanceof OutpostError) {
    process.stderr.write(`error ${err.code}: ${err.message}\nhint: ${err.hint}\n`);
  } else {
    // Not a coded error: a bug. The message is enough for a person; the stack is for the report (OUTPOST_DEBUG=1).
    const detail = process.env.OUTPOST_DEBUG
      ? ((err as Error)?.stack ?? String(err))
      : String((err as Error)?.message ?? err);
    process.stderr.write(`error (unexpected failure, please report it; OUTPOST_DEBUG=1 shows where): ${detail}\n`);
  }
  process.exitCode = 1;
}
