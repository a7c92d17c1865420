/**
 * `outpost cluster status`: the deployment as the node it asks sees it (docs/0017-nodes.md, "Operator view") — the
 * nodes it hears with the agents each holds, and which node runs each piece of once-only work under which epoch.
 */
import type { Command } from 'commander';
import { api } from './api.js';
import { commandTarget } from './credentials.js';
import { printJson, printRows, say } from './output.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Adds `cluster status`. */
export function addClusterCommands(program: Command): void {
  program
    .command('cluster')
    .description('Collector nodes of this deployment and the leases of their once-only work.')
    .command('status')
    .description('Nodes this collector hears (agents each holds) and who holds each lease, with its epoch and expiry.')
    .action(async function (this: Command) {
      const s = await api(commandTarget(this), 'GET /api/v1/cluster');
      if (this.optsWithGlobals<{ json?: boolean }>().json) return printJson(s);
      const mode = s.clustered ? `deployment ${s.deployment}` : 'single node (no cluster section)';
      say`${s.node}: ${mode}, storage ${s.storage}\n\n`;
      printRows(
        s.nodes,
        [
          { key: 'node', title: 'node', format: (n) => (n.self ? `${n.node} (this one)` : n.node) },
          { key: 'agents', title: 'agents' },
          {
            key: 'lastHeardMsAgo',
            title: 'last heard',
            format: (n) => (n.self ? '' : `${seconds(n.lastHeardMsAgo)} ago`),
          },
        ],
        false,
      );
      say`\n`;
      if (s.leases.length === 0) return say`no lease taken yet\n`;
      printRows(
        s.leases,
        [
          { key: 'name', title: 'lease' },
          { key: 'holder', title: 'holder', format: (l) => (l.held ? l.holder : `(free; last ${l.holder})`) },
          { key: 'epoch', title: 'epoch' },
          { key: 'expiresInMs', title: 'expires in', format: (l) => (l.held ? seconds(l.expiresInMs) : '') },
          { key: 'heldForMs', title: 'held for', format: (l) => (l.held ? seconds(l.heldForMs) : '') },
        ],
        false,
      );
    });
}
