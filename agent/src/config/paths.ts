/**
 * Where the configuration and the state live by default. Its own module, free of schemas and compiled checks,
 * because the CLI needs it for `--help` before any command runs (docs/0009-packaging.md, "Footprint").
 */
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Default locations: system-wide for root (a service), per-user otherwise (a developer or a test).
 * `OUTPOST_AGENT_CONFIG` and `OUTPOST_AGENT_STATE` each override one of them; with only the first set, the state
 * lives beside the file (`<its directory>/state`).
 */
export function defaultPaths(env: NodeJS.ProcessEnv = process.env): { configFile: string; stateDir: string } {
  const platform = platformPaths(env);
  const configFile = env.OUTPOST_AGENT_CONFIG || platform.configFile;
  const stateDir =
    env.OUTPOST_AGENT_STATE ||
    (env.OUTPOST_AGENT_CONFIG ? join(dirname(env.OUTPOST_AGENT_CONFIG), 'state') : platform.stateDir);
  return { configFile, stateDir };
}

function platformPaths(env: NodeJS.ProcessEnv): { configFile: string; stateDir: string } {
  if (process.platform === 'win32') {
    const base = join(env.ProgramData ?? 'C:\\ProgramData', 'Outpost');
    return { configFile: join(base, 'agent.json'), stateDir: join(base, 'state') };
  }
  if (process.platform === 'darwin' && process.getuid?.() === 0) {
    return {
      configFile: '/Library/Application Support/Outpost/agent.json',
      stateDir: '/Library/Application Support/Outpost/state',
    };
  }
  if (process.getuid?.() === 0) return { configFile: '/etc/outpost/agent.json', stateDir: '/var/lib/outpost' };
  return {
    configFile: join(homedir(), '.config', 'outpost', 'agent.json'),
    stateDir: join(homedir(), '.local', 'state', 'outpost'),
  };
}
