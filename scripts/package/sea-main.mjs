/**
 * The single executable's entry point. node-pty on Windows forks a helper script (conpty_console_list_agent.js) to
 * list a console's processes; inside the executable there is no script file, so build.ts makes node-pty fork the
 * executable itself with CONPTY_LIST_ARG, answered here from the commands' half (it carries the addon loader).
 * Everything else is the agent's CLI, which loads the commands' half only when a command runs (sea-commands.mjs).
 */
import { loadCommands } from '../../agent/dist/commands/load.js';
import { CONPTY_LIST_ARG } from './conpty-arg.mjs';

if (process.argv[2] === CONPTY_LIST_ARG && typeof process.send === 'function') {
  const { loadNativeAddon } = await loadCommands();
  const { getConsoleProcessList } = loadNativeAddon('conpty_console_list.node');
  process.send({ consoleProcessList: getConsoleProcessList(Number.parseInt(process.argv[3] ?? '', 10)) });
  process.exit(0);
} else {
  await import('../../agent/dist/cli.js');
}
