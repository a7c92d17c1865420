import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseOsRelease } from '../inventory/os_version.linux.js';
import { collectFacts } from './facts.js';

describe('hello facts', () => {
  it('describe this machine as the OS and node:os do', async () => {
    const f = await collectFacts();
    expect(f.hostname).toBe(hostname());
    expect(f.os.platform).toBe(process.platform);
    expect(f.os.kernel).toBe(release());
    expect(f.cpu.cores).toBe(cpus().length);
    expect(f.memoryBytes).toBe(totalmem());
    if (process.platform === 'linux') {
      const osr = parseOsRelease(readFileSync('/etc/os-release', 'utf8'));
      expect(f.os.distro).toBe(osr.NAME);
      expect(f.os.release.startsWith(osr.VERSION_ID ?? '')).toBe(true);
    }
  });
});
