/**
 * The one-liners' text: values quoted for their shell (checked by running sh on the quoted value), hostile manifest
 * names and hashes refused before they reach a command, and the PowerShell line's order (hash check before install).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type InstallerInput, posixLine, powershellLine, psQuote, shQuote } from './oneliners.js';

const base: InstallerInput = {
  downloadBase: 'https://collector.example:8443',
  agentServer: 'https://collector.example:8443',
  token: 'oet_abc_DEF-ghi',
  caFingerprint: Array(32).fill('AB').join(':'),
  spkiSha256: `${'q'.repeat(43)}=`,
  file: 'outpost-agent-linux-x64',
  sha256: 'a'.repeat(64),
  platform: 'linux-x64',
  sudo: true,
};

describe('one-liners', () => {
  it('quotes values for sh so they arrive intact', () => {
    for (const v of [`it's`, '$(touch /tmp/x)', '`id`', 'a b\tc', "'''", '\\n']) {
      const r = spawnSync('/bin/sh', ['-c', `printf %s ${shQuote(v)}`], { encoding: 'utf8' });
      expect(r.stdout).toBe(v);
    }
    expect(psQuote("it's ‘x’")).toBe("'it''s ‘‘x’’'");
  });

  it('refuses a manifest name, hash or pin that could not be used safely in a command', () => {
    for (const bad of [
      { file: '../etc/passwd' },
      { file: 'a;rm -rf ~' },
      { file: '.hidden' },
      { sha256: 'A'.repeat(64) },
      { sha256: `${'a'.repeat(63)}'` },
      { spkiSha256: "x' -k '" },
      { updateRootSha256: `${'a'.repeat(64)}; id` },
    ]) {
      expect(() => posixLine({ ...base, ...bad }), JSON.stringify(bad)).toThrow(/manifest/);
      expect(() => powershellLine({ ...base, ...bad, platform: 'win-x64' })).toThrow(/manifest/);
    }
  });

  it('shell: pinned key, hash checked before chmod, install last; macOS uses shasum; no sudo on request', () => {
    const line = posixLine(base);
    const order = ['curl ', 'sha256sum -c -', 'chmod 700', 'sudo ./outpost-agent install'].map((s) => line.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(line).toContain(`--pinnedpubkey 'sha256//${base.spkiSha256}'`);
    expect(posixLine({ ...base, platform: 'darwin-x64', file: 'outpost-agent-darwin-x64' })).toContain(
      'shasum -a 256 -c -',
    );
    expect(posixLine({ ...base, sudo: false })).not.toContain('sudo');
    // Plain HTTP: no pin option (curl would refuse it), the hash check stays.
    const http = posixLine({ ...base, downloadBase: 'http://c:8080', spkiSha256: undefined, caFingerprint: undefined });
    expect(http).not.toContain('pinnedpubkey');
    expect(http).toContain('sha256sum -c -');
    expect(http).not.toContain('--ca-fingerprint');
  });

  it('PowerShell: the exe is run with install when no MSI is listed; a token with a quote is refused for msiexec', () => {
    const exe = powershellLine({ ...base, platform: 'win-x64', file: 'outpost-agent-win-x64.exe' });
    expect(exe).toMatch(
      /& \$f 'install' '--server' '[^']+' '--token' 'oet_abc_DEF-ghi' '--ca-fingerprint' '[A-F0-9:]+' '--silent'; exit \$LASTEXITCODE$/,
    );
    expect(() => powershellLine({ ...base, platform: 'win-x64', file: 'a.msi', token: 'x"y' })).toThrow(/msiexec/);
  });

  it('pins the release root in every kind of line when the collector has one', () => {
    const pin = { updateRootSha256: 'b'.repeat(64) };
    expect(posixLine({ ...base, ...pin })).toContain(`--update-root-sha256 ${'b'.repeat(64)} --silent)`);
    const msi = powershellLine({ ...base, ...pin, platform: 'win-x64', file: 'outpost-agent-win-x64.msi' });
    expect(msi).toContain(`'UPDATE_ROOT_SHA256="${'b'.repeat(64)}"'`);
    const exe = powershellLine({ ...base, ...pin, platform: 'win-x64', file: 'outpost-agent-win-x64.exe' });
    expect(exe).toContain(`'--update-root-sha256' '${'b'.repeat(64)}' '--silent'`);
    expect(posixLine(base)).not.toContain('update-root');
  });
});
