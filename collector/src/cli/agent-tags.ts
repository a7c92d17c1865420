/**
 * `outpost agents tag <agent> add|remove <tag…>` and the `--tag` flag parser shared by the agents, jobs and rollouts
 * commands. Tags are checked here against the same pattern the API enforces, so a typo fails before any call.
 */
import { OutpostError } from '@outpost/shared';
import { type Command, InvalidArgumentError } from 'commander';
import { TAG_PATTERN } from '../agents/tags.js';
import { api } from './api.js';
import { commandTarget } from './credentials.js';
import { printObject, say } from './output.js';

const TAG = new RegExp(TAG_PATTERN);
const TAG_RULE = 'lower case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters';

/** Parses one tag flag value (lower case letters, digits, `.`, `_`, `-`; at most 63 characters). */
export function parseTag(v: string): string {
  if (!TAG.test(v)) throw new InvalidArgumentError(`a tag is ${TAG_RULE}`);
  return v;
}

/** An agent as printed by `agents show`: tags as a comma-separated list for people, an array in JSON. */
export function agentForPeople(a: Record<string, unknown>): Record<string, unknown> {
  return { ...a, tags: Array.isArray(a.tags) && a.tags.length ? a.tags.join(', ') : '-' };
}

/** Adds `agents tag` to the `agents` command group. */
export function addAgentTagCommand(agents: Command): void {
  agents
    .command('tag <agent> <add|remove> <tags...>')
    .description('Add or remove tags on an agent (tier 2+); jobs and rollout rings can then target the tag.')
    .action(async function (this: Command, agent: string, op: string, tags: string[]) {
      if (op !== 'add' && op !== 'remove')
        throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
          message: `Expected "add" or "remove" after the agent, not "${op}"`,
        });
      for (const t of tags)
        if (!TAG.test(t))
          throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: `Not a valid tag: "${t}" (${TAG_RULE})` });
      const json = this.optsWithGlobals<{ json?: boolean }>().json === true;
      const a = await api(commandTarget(this), 'POST /api/v1/agents/:id/tags', {
        params: { id: agent },
        body: { [op]: tags },
      });
      if (json) return printObject(a, true);
      const now = a.tags.join(', ') || '(none)';
      say`${a.hostname} (${a.id}) tags: ${now}\n`;
    });
}
