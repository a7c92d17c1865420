import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentsListenSeparately, checkSettings, mergeSettings, readSettingsFile } from './config.js';

describe('collector configuration', () => {
  it('defaults every field, and shares one listener unless agents are configured', () => {
    const s = checkSettings({});
    expect(s.api).toEqual({ host: '127.0.0.1', port: 8443 });
    expect(s.agents).toBeUndefined();
    expect(s.tls.enabled).toBe(true);
    expect(agentsListenSeparately(s)).toBe(false);
    expect(agentsListenSeparately(checkSettings({ agents: { port: 9443 } }))).toBe(true);
    expect(agentsListenSeparately(checkSettings({ agents: { port: 8443 } }))).toBe(false);
  });

  it('names the source and the field of a bad value', () => {
    expect(() => checkSettings({ api: { port: 70000 } }, 'outpost.yaml')).toThrow(/outpost\.yaml: \/api\/port/);
    expect(() => checkSettings({ colour: 'blue' }, 'x.json')).toThrow(/x\.json/);
    expect(() => checkSettings([], 'x.json')).toThrow(/expected an object/);
  });

  it('reads YAML and JSON files with clear errors, and flags override them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'a.yaml'), 'api:\n  port: 9000\nlog:\n  level: warn\n');
    writeFileSync(join(dir, 'bad.json'), '{ "api": ');
    const merged = mergeSettings(readSettingsFile(join(dir, 'a.yaml')), { 'api.port': 9001, dataDir: undefined });
    const s = checkSettings(merged);
    expect(s.api.port).toBe(9001);
    expect(s.log.level).toBe('warn');
    expect(() => readSettingsFile(join(dir, 'bad.json'))).toThrow(/not valid JSON/);
    expect(() => readSettingsFile(join(dir, 'missing.yaml'))).toThrow(/Cannot read configuration file/);
  });
});
