/** A missing configuration, said with where the path came from and how to give another. */
import { OutpostError } from '@outpost/shared';
import type { CliGlobals } from './globals.js';

/** Rewrites OUTPOST_E_NOT_ENROLLED to name the file, where its path came from, and how to pass another. */
export function notEnrolledHere(err: unknown, g: Pick<CliGlobals, 'config' | 'configFrom'>): unknown {
  if (!(err instanceof OutpostError) || err.code !== 'OUTPOST_E_NOT_ENROLLED') return err;
  return new OutpostError('OUTPOST_E_NOT_ENROLLED', {
    cause: err,
    message: `No agent configuration at ${g.config} (${g.configFrom}); an agent enrolled with another file (\`pnpm demo\`'s is .demo/agent/agent.json in the checkout) is found with --config FILE or OUTPOST_AGENT_CONFIG`,
    details: { file: g.config },
  });
}
