/**
 * The single list of what the agent does on the collector's behalf. Add a concern's handlers and component here.
 */
import { ChecksComponent } from '../checks/index.js';
import { fileOpenHandler } from '../files/index.js';
import { InventoryComponent } from '../inventory/index.js';
import { JobsComponent } from '../jobs/index.js';
import { MetricsComponent } from '../metrics/index.js';
import { RequestsComponent } from '../requests/index.js';
import { ShellService } from '../shell/index.js';
import { UpdateComponent } from '../update/index.js';
import type { AgentComponent, CommandTable } from './commands.js';

/** Builds the handler table and the components for one runtime. */
export function buildCommandTable(): { table: CommandTable; components: AgentComponent[] } {
  const inventory = new InventoryComponent();
  const shell = new ShellService();
  const checks = new ChecksComponent();
  // After a patch or software job the inventory reports the packages again at once (pending patches drop).
  const jobs = new JobsComponent({
    refreshInventory: (now) => {
      inventory
        .request({
          type: 'inventory.request',
          id: `job-${now.toString(36)}`,
          expiresAt: now + 600_000,
          probes: ['pending_patches', 'installed_software'],
        })
        .catch(() => undefined);
    },
  });
  const update = new UpdateComponent();
  const requests = new RequestsComponent();
  const components: AgentComponent[] = [inventory, shell, new MetricsComponent(), checks, jobs, update, requests];
  const table: CommandTable = {
    'inventory.request': (msg) => inventory.request(msg).then(() => undefined),
    'shell.open': shell.open,
    'shell.resize': shell.resize,
    'shell.close': shell.close,
    'file.open': fileOpenHandler(shell),
    'checks.policy': checks.policy,
    'job.run': jobs.run,
    'job.cancel': jobs.cancel,
    'update.assign': update.assign,
    'request.state': requests.state,
  };
  return { table, components };
}
