/**
 * Where the agent looks for its configuration and keeps its state: the platform's default, and the two environment
 * variables that override it (the README's configuration reference names both).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPaths } from './config.js';

describe('agent default paths', () => {
  const platform = defaultPaths({});

  it('defaults to the system locations as root and per-user ones otherwise', () => {
    if (process.platform !== 'linux') return;
    expect(platform).toEqual(
      process.getuid?.() === 0
        ? { configFile: '/etc/outpost/agent.json', stateDir: '/var/lib/outpost' }
        : {
            configFile: join(homedir(), '.config', 'outpost', 'agent.json'),
            stateDir: join(homedir(), '.local', 'state', 'outpost'),
          },
    );
  });

  it('OUTPOST_AGENT_STATE alone moves the state directory and leaves the configuration file where it was', () => {
    expect(defaultPaths({ OUTPOST_AGENT_STATE: '/srv/outpost-state' })).toEqual({
      configFile: platform.configFile,
      stateDir: '/srv/outpost-state',
    });
  });

  it('OUTPOST_AGENT_CONFIG alone moves the file and keeps the state beside it', () => {
    expect(defaultPaths({ OUTPOST_AGENT_CONFIG: '/opt/op/agent.json' })).toEqual({
      configFile: '/opt/op/agent.json',
      stateDir: join('/opt/op', 'state'),
    });
  });

  it('both together set both; empty values count as unset', () => {
    expect(defaultPaths({ OUTPOST_AGENT_CONFIG: '/opt/op/agent.json', OUTPOST_AGENT_STATE: '/var/op' })).toEqual({
      configFile: '/opt/op/agent.json',
      stateDir: '/var/op',
    });
    expect(defaultPaths({ OUTPOST_AGENT_CONFIG: '', OUTPOST_AGENT_STATE: '' })).toEqual(platform);
  });
});
