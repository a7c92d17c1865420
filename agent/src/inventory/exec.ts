/** The real ProbeContext: commands run without a shell, in the C locale, with a timeout and a bounded output. */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { defaultInventoryOptions, type InventoryOptions, type ProbeContext } from './probe.js';

/** Builds the context probes run with. */
export function systemProbeContext(options: Partial<InventoryOptions> = {}): ProbeContext {
  const opts = { ...defaultInventoryOptions, ...options };
  const found = new Map<string, Promise<boolean>>();
  return {
    options: opts,
    now: () => Date.now(),
    exec: (cmd, args, o = {}) =>
      new Promise((resolve, reject) => {
        execFile(
          cmd,
          args,
          {
            timeout: opts.commandTimeoutMs,
            maxBuffer: 64 * 1024 * 1024,
            env: { ...process.env, LC_ALL: 'C', LANG: 'C', ...o.env },
            windowsHide: true,
          },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
            if (err && !(code !== null && o.okCodes?.includes(code))) {
              reject(
                new OutpostError('OUTPOST_E_PROBE_FAILED', {
                  cause: err,
                  message: `${cmd} failed: ${String(stderr || err.message)
                    .trim()
                    .slice(0, 300)}`,
                  details: { command: cmd, exitCode: code },
                }),
              );
              return;
            }
            resolve(stdout);
          },
        );
      }),
    readText: async (path) => {
      try {
        return await readFile(path, 'utf8');
      } catch {
        // Missing or unreadable: the caller treats both as "not available here".
        return undefined;
      }
    },
    has: (cmd) => {
      let p = found.get(cmd);
      if (!p) {
        p = onPath(cmd);
        found.set(cmd, p);
      }
      return p;
    },
  };
}

async function onPath(cmd: string): Promise<boolean> {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const ext of exts) {
      try {
        await access(join(dir, cmd + ext));
        return true;
      } catch {
        // not in this directory; keep looking
      }
    }
  }
  return false;
}
