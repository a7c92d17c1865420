/**
 * `outpost cp <local> <agent>:<path>` and `outpost cp <agent>:<path> <local>`: file transfer through the collector,
 * resumable, with the SHA-256 of the whole file checked on both ends.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { loadTarget } from './credentials.js';
import { downloadFile, type TransferResult, uploadFile } from './file-client.js';
import { checkReadable, checkWritable, printJson, say } from './output.js';

/** A `<agent>:<absolute path>` operand; agent ids are longer than a drive letter, so `C:\x` stays local. */
export function parseRemote(arg: string): { agent: string; path: string } | undefined {
  const m = /^([A-Za-z0-9_.-]{2,}):(\/.*)$/.exec(arg);
  return m ? { agent: m[1]!, path: m[2]! } : undefined;
}

/**
 * An operand that reads as `<agent>:<relative path>` (`ag_x:foo.txt`): not a valid remote operand, and almost never a
 * local file meant as such, so `cp` names the mistake instead of calling it a second local path.
 */
export function relativeRemote(arg: string): { agent: string; path: string } | undefined {
  const m = /^([A-Za-z0-9_.-]{2,}):([^/].*)?$/.exec(arg);
  return m && !arg.startsWith('.') ? { agent: m[1]!, path: m[2] ?? '' } : undefined;
}

/** Registers `outpost cp`. */
export function addCpCommand(program: Command): void {
  program
    .command('cp <source> <destination>')
    .description(
      'Copy a file to or from an agent: `cp ./f <agent>:/path` uploads, `cp <agent>:/path ./f` downloads. ' +
        "The path must lie inside the agent's file roots; the SHA-256 of the whole file is checked on both ends.",
    )
    .option('--resume', 'continue an interrupted copy after what the receiving side already holds', false)
    .action(async function (this: Command, source: string, destination: string, o: { resume: boolean }) {
      const g = this.optsWithGlobals<{ server?: string; token?: string; caFingerprint?: string; json?: boolean }>();
      const from = parseRemote(source);
      const to = parseRemote(destination);
      // Operands and the local side are checked before logging in or opening a session: a typo is named as such.
      const relative = from || to ? undefined : (relativeRemote(source) ?? relativeRemote(destination));
      if (relative) {
        const name = relative.path.length > 0 ? relative.path : 'file.txt';
        throw new InvalidArgumentError(
          `remote paths must be absolute: "${relative.agent}:${relative.path}" has no leading / after the agent ` +
            `(write e.g. ${relative.agent}:/srv/files/${name}; a local file whose name holds a colon: ./${relative.agent}:${relative.path})`,
        );
      }
      if ((from && to) || (!from && !to))
        throw new InvalidArgumentError(
          `exactly one of source and destination must be <agent>:<absolute path> (got ${from ? 'two remote' : 'two local'} paths)`,
        );
      if (to) checkReadable(source);
      else checkWritable(destination, o.resume);
      const target = loadTarget({ server: g.server, token: g.token, caFingerprint: g.caFingerprint });
      let r: TransferResult;
      if (to) r = await uploadFile(target, to.agent, source, to.path, { resume: o.resume });
      else r = await downloadFile(target, from!.agent, from!.path, destination, { resume: o.resume });
      if (g.json) printJson(r, 0);
      else
        say`${to ? 'uploaded' : 'downloaded'} ${r.bytes} bytes${r.offset > 0 ? ` (resumed at ${r.offset})` : ''}, ${r.size} bytes in all, sha256 ${r.sha256} (${r.sessionId})\n`;
    });
}
