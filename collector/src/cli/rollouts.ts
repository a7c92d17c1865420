/**
 * Rollout commands (docs/0011-releases.md, "Rollouts"): `outpost rollouts start|status|list|pause|resume|abort|
 * rollback`. `status --watch` (and `start --watch`) redraws the per-wave progress table every second until the
 * rollout stops moving (completed, halted, aborted, rolled back). Admin only, on the collector's side.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { parseTag } from './agent-tags.js';
import { api } from './api.js';
import { commandTarget } from './credentials.js';
import { intIn } from './flags.js';
import { durationSec } from './jobs.js';
import { clearScreen, printJson, printRows, say, whenAgo } from './output.js';

type Row = Record<string, unknown>;
const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;
const collect = (v: string, prev: string[] = []) => [...prev, v];
/** States in which a rollout no longer changes by itself. */
const SETTLED = new Set(['completed', 'halted', 'aborted', 'rolled_back']);

/** `5,25,100` → [5, 25, 100]. */
export function parsePercents(v: string): number[] {
  const ps = v.split(',').map((x) => Number(x.trim().replace(/%$/, '')));
  if (ps.some((p) => !Number.isFinite(p) || p <= 0 || p > 100) || ps.some((p, i) => i > 0 && p <= ps[i - 1]!))
    throw new InvalidArgumentError('expected increasing percentages ending at 100, e.g. 5,25,100');
  if (ps.at(-1) !== 100) throw new InvalidArgumentError('the last wave must be 100 (e.g. 5,25,100)');
  return ps;
}

/** `0s` is allowed here (no bake, no jitter); otherwise the jobs' durations (30s, 10m, 12h, 7d). */
const seconds = (v: string) => (/^0+[smhd]?$/.test(v.trim()) ? 0 : durationSec(v));

const WAVE_COLUMNS = [
  { key: 'index', title: 'wave' },
  { key: 'name', title: 'name' },
  { key: 'status', title: 'status' },
  { key: 'total', title: 'agents' },
  { key: 'pending', title: 'pending' },
  { key: 'updating', title: 'updating' },
  { key: 'healthy', title: 'healthy' },
  { key: 'failed', title: 'failed' },
  { key: 'rolledBack', title: 'rolled back' },
  { key: 'skipped', title: 'skipped' },
];
const AGENT_COLUMNS = [
  { key: 'agentId', title: 'agent' },
  { key: 'wave', title: 'wave' },
  { key: 'state', title: 'state' },
  { key: 'fromVersion', title: 'from' },
  { key: 'code', title: 'code' },
  { key: 'reason', title: 'reason' },
];

/** One rollout as people read it: a heading, the halt reason, the per-wave table (and agents with `agents`). */
function printRollout(cmd: Command, r: Row, agents: boolean): void {
  if (isJson(cmd)) {
    printJson(r);
    return;
  }
  const kind = r.kind === 'rollback' ? `rollback of ${String(r.rollbackOf)} to` : 'rollout of';
  say`${r.id}  ${kind} ${r.version}  ${r.state}  wave ${r.wave}/${r.waves}  started ${whenAgo(r.createdAt)} by ${r.createdBy}\n`;
  if (r.haltReason) say`halted: ${r.haltReason}\n`;
  printRows((r.waveList ?? []) as Row[], WAVE_COLUMNS, false);
  if (agents && Array.isArray(r.agents)) {
    say`\n`;
    printRows(r.agents as Row[], AGENT_COLUMNS, false);
  }
}

/** Fetches and prints, once or (`watch`) every second until the rollout settles. */
async function show(cmd: Command, id: string, o: { watch?: boolean; agents?: boolean }): Promise<void> {
  for (;;) {
    const r = await api(commandTarget(cmd), 'GET /api/v1/rollouts/:id', {
      params: { id },
      query: { agents: o.agents === true },
    });
    if (o.watch && !isJson(cmd)) clearScreen();
    printRollout(cmd, r, o.agents === true);
    if (!o.watch || SETTLED.has(String(r.state))) return;
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/** Adds `outpost rollouts …`. */
export function addRolloutCommands(program: Command): void {
  const rollouts = program
    .command('rollouts')
    .description('Roll a published agent release out in waves, with automatic halt (admin).');
  addRolloutStartCommand(rollouts);
  addRolloutViewCommands(rollouts);
  addRolloutControlCommands(rollouts);
}

/** `rollouts start`: targets, test ring, canary, waves and halt rules, from flags. */
function addRolloutStartCommand(rollouts: Command): void {
  rollouts
    .command('start <version>')
    .description('Start a rollout of a published release: test ring, canary, then growing waves.')
    .option('--agent <id>', 'target this agent (repeatable; default: every agent)', collect)
    .option('--site <id>', 'target the agents of a site')
    .option('--client <id>', 'target the agents of a client')
    .option('--tag <tag>', 'target only the agents with this tag', parseTag)
    .option('--ring <id>', 'an agent of the test ring, updated first as its own wave (repeatable)', collect)
    .option(
      '--ring-tag <tag>',
      'the targeted agents with this tag form the test ring (wave 0, before the canary)',
      parseTag,
    )
    .option('--canary <n>', 'machines in the canary wave', intIn(0, 1000, 'a number of machines'), 5)
    .option('--waves <percents>', 'cumulative percentages after the canary, ending at 100', parsePercents)
    .option('--bake <duration>', 'wait after a healthy wave before the next (e.g. 1h, 0s)', seconds)
    .option('--deadline <duration>', 'a machine not back on the new version by then has failed', durationSec)
    .option('--max-concurrent <n>', 'at most this many machines updating at once', intIn(1, 10_000, 'a number'))
    .option('--jitter <duration>', 'spread each wave’s assignments over this long (e.g. 10m, 0s)', seconds)
    .option(
      '--halt-after <n>',
      'halt when this many machines of a wave fail (default 1)',
      intIn(1, 100_000, 'a number'),
    )
    .option('--halt-percent <p>', 'halt when this share of a wave fails', intIn(1, 100, 'a percentage'))
    .option('--watch', 'follow the progress until the rollout settles', false)
    .action(async function (this: Command, version: string, o: Row) {
      const body = {
        version,
        target: {
          ...(o.agent ? { agentIds: o.agent } : {}),
          ...(o.site ? { siteId: o.site } : {}),
          ...(o.client ? { clientId: o.client } : {}),
          ...(o.tag ? { tag: o.tag } : {}),
        },
        ...(o.ring ? { ring: o.ring } : {}),
        ...(o.ringTag ? { ringTag: o.ringTag } : {}),
        canary: o.canary,
        ...(o.waves ? { waves: o.waves } : {}),
        ...(o.bake !== undefined ? { bakeSec: o.bake } : {}),
        ...(o.deadline !== undefined ? { deadlineSec: o.deadline } : {}),
        ...(o.maxConcurrent !== undefined ? { maxConcurrent: o.maxConcurrent } : {}),
        ...(o.jitter !== undefined ? { jitterSec: o.jitter } : {}),
        ...(o.haltAfter !== undefined ? { haltAfter: o.haltAfter } : {}),
        ...(o.haltPercent !== undefined ? { haltPercent: o.haltPercent } : {}),
      };
      const r = await api(commandTarget(this), 'POST /api/v1/rollouts', { body });
      if (o.watch) return show(this, String(r.id), { watch: true });
      printRollout(this, r, false);
    });
}

/** `rollouts status|list`. */
function addRolloutViewCommands(rollouts: Command): void {
  rollouts
    .command('status <id>')
    .description('Per-wave progress: pending, updating, healthy, failed, rolled back (live with --watch).')
    .option('--watch', 'redraw every second until the rollout settles', false)
    .option('--agents', 'list every machine with its state and reason', false)
    .action(async function (this: Command, id: string, o: { watch?: boolean; agents?: boolean }) {
      await show(this, id, o);
    });

  rollouts
    .command('list')
    .description('Rollouts, newest first.')
    .option('--limit <n>', 'at most this many', intIn(1, 1000, 'a number'), 50)
    .action(async function (this: Command, o: Row) {
      const r = await api(commandTarget(this), 'GET /api/v1/rollouts', { query: { limit: o.limit } });
      printRows(
        r.rollouts,
        [
          { key: 'id', title: 'id' },
          { key: 'kind', title: 'kind' },
          { key: 'version', title: 'version' },
          { key: 'state', title: 'state' },
          { key: 'wave', title: 'wave', format: (x: Row) => `${x.wave}/${x.waves}` },
          {
            key: 'totals',
            title: 'healthy/failed/rolled back/pending',
            format: (x: Row) => {
              const t = x.totals as {
                healthy: number;
                failed: number;
                rolledBack: number;
                pending: number;
                updating: number;
              };
              return `${t.healthy}/${t.failed}/${t.rolledBack}/${t.pending + t.updating}`;
            },
          },
          { key: 'createdBy', title: 'by' },
          { key: 'createdAt', title: 'started' },
        ],
        isJson(this),
      );
    });
}

/** `rollouts pause|resume|abort|rollback`. */
function addRolloutControlCommands(rollouts: Command): void {
  for (const [verb, what] of [
    ['pause', 'Stop assigning; machines already updating finish and are heard.'],
    ['resume', 'Go on with a paused or halted rollout (the failures that halted it are accepted).'],
    ['abort', 'Stop for good; machines already on the new version stay there.'],
  ] as const)
    rollouts
      .command(`${verb} <id>`)
      .description(what)
      .action(async function (this: Command, id: string) {
        printRollout(
          this,
          await api(commandTarget(this), `POST /api/v1/rollouts/:id/${verb}`, { params: { id } }),
          false,
        );
      });

  rollouts
    .command('rollback <id>')
    .description(
      'Put every machine that got the new version back on the previous one (signed offline with --allow-rollback).',
    )
    .option('--to <version>', 'the version to go back to (default: the one the machines ran before)')
    .option('--watch', 'follow the rollback until it settles', false)
    .action(async function (this: Command, id: string, o: { to?: string; watch?: boolean }) {
      const r = await api(commandTarget(this), 'POST /api/v1/rollouts/:id/rollback', {
        params: { id },
        body: o.to ? { version: o.to } : {},
      });
      if (o.watch) return show(this, String(r.id), { watch: true });
      printRollout(this, r, false);
    });
}
