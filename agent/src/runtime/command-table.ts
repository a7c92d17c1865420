/**
 * The single list of what the agent does on the collector's behalf. Add a concern's handlers and component here.
 */
import type { AgentComponent, CommandTable } from './commands.js';

/** Builds the handler table and the components for one runtime. */
export function buildCommandTable(): { table: CommandTable; components: AgentComponent[] } {
  const components: AgentComponent[] = [];
  const table: CommandTable = {};
  return { table, components };
}
