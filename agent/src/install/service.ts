/**
 * Talks to the service manager: runs a plan's steps (steps.ts) for a real install, or, under `--root`, only does
 * to the files what enabling would (systemd's `multi-user.target.wants` link), since the staged tree has no manager
 * running and the host's must not be touched.
 */
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { type InstallLayout, SYSTEMD_UNIT } from './layout.js';
import type { ServicePlan, Step } from './steps.js';

/** What install and uninstall ask of the service manager. Each returns whether it changed anything. */
export interface ServiceControl {
  /** Registers the definition (reloading it when it changed) so it starts at boot. */
  enable(definitionChanged: boolean): Promise<boolean>;
  /** Restarts when `restart`, else starts it unless it runs already. */
  start(restart: boolean): Promise<boolean>;
  /** Stops it and unregisters it; the caller then removes the definition file and calls `afterRemove`. */
  remove(): Promise<void>;
  afterRemove(): Promise<void>;
}

/** The outcome of one command. */
interface StepResult {
  code: number | null;
  output: string;
}

function runStep(step: Step, logger: Logger): Promise<StepResult> {
  const [file, ...args] = step.argv;
  return new Promise((resolve, reject) => {
    execFile(file!, args, { timeout: 90_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim().slice(0, 2000);
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      logger.debug({ argv: step.argv, code, output }, 'service manager command');
      if (err && typeof err.code === 'string') {
        // ENOENT and friends: the manager's tool is missing, which no `mayFail` covers.
        reject(
          new OutpostError('OUTPOST_E_INSTALL_FAILED', {
            cause: err,
            message: `Cannot run \`${step.argv.join(' ')}\`: ${err.message}`,
            details: { argv: step.argv },
          }),
        );
        return;
      }
      if (code !== 0 && !step.mayFail) {
        reject(
          new OutpostError('OUTPOST_E_INSTALL_FAILED', {
            message: `\`${step.argv.join(' ')}\` failed (exit ${code ?? 'signal'}): ${output || 'no output'}`,
            details: { argv: step.argv, code, output },
          }),
        );
        return;
      }
      resolve({ code, output });
    });
  });
}

async function runSteps(steps: readonly Step[], logger: Logger): Promise<void> {
  for (const s of steps) await runStep(s, logger);
}

/** The machine's own service manager. */
export function liveService(plan: ServicePlan, logger: Logger): ServiceControl {
  return {
    async enable(definitionChanged) {
      if (!definitionChanged && (await runStep(plan.isEnabled, logger)).code === 0) return false;
      await runSteps(plan.register(definitionChanged), logger);
      return true;
    },
    async start(restart) {
      if (!restart && (await runStep(plan.isActive, logger)).code === 0) return false;
      await runSteps(plan.start(restart), logger);
      return true;
    },
    remove: () => runSteps(plan.remove, logger),
    afterRemove: () => runSteps(plan.afterRemove, logger),
  };
}

/** A staged tree (`--root`): systemd's enable link is made by hand; nothing is started. */
export function stagedService(plan: ServicePlan, layout: InstallLayout): ServiceControl {
  const wants = join(layout.root, 'etc/systemd/system/multi-user.target.wants');
  const link = join(wants, SYSTEMD_UNIT);
  const linked = () => {
    try {
      lstatSync(link);
      return true;
    } catch {
      return false;
    }
  };
  return {
    async enable() {
      if (plan.manager !== 'systemd' || linked()) return false;
      mkdirSync(wants, { recursive: true, mode: 0o755 });
      // What `systemctl enable` writes: an absolute link as seen from inside the tree.
      symlinkSync(`/etc/systemd/system/${SYSTEMD_UNIT}`, link);
      return true;
    },
    start: async () => false,
    async remove() {
      if (plan.manager === 'systemd') rmSync(link, { force: true });
    },
    afterRemove: async () => undefined,
  };
}
