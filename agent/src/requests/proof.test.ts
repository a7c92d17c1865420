/**
 * The OS proof of who is asking (docs/0014-requests.md), on real files: the creator's uid is read and the file
 * removed; a symlink, a hard link, a directory or no file at all is refused with OUTPOST_E_REQUEST_PROOF; a name is
 * never accepted twice; the directory is made 1733 (writable by all, listable by none, sticky).
 */
import { linkSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProof, newProofName, prepareProofDir, verifyProof } from './proof.js';

const root = mkdtempSync(join(tmpdir(), 'outpost-proof-'));
const dir = join(root, 'proofs');
prepareProofDir(dir);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

describe('request proofs', () => {
  it('makes the directory writable by every user, listable by none, sticky', () => {
    expect(statSync(dir).mode & 0o7777).toBe(0o1733);
  });

  it("reads the creator's uid once and removes the file", () => {
    const name = newProofName();
    createProof(dir, name);
    expect(verifyProof(dir, name)).toBe(process.getuid!());
    expect(code(() => verifyProof(dir, name))).toBe('OUTPOST_E_REQUEST_PROOF');
  });

  it('refuses a symlink, a hard link, a directory and a missing file', () => {
    const target = join(root, 'someone-elses-file');
    writeFileSync(target, 'x');
    const sym = newProofName();
    symlinkSync(target, join(dir, sym));
    expect(code(() => verifyProof(dir, sym))).toBe('OUTPOST_E_REQUEST_PROOF');
    const hard = newProofName();
    linkSync(target, join(dir, hard));
    expect(code(() => verifyProof(dir, hard))).toBe('OUTPOST_E_REQUEST_PROOF');
    const sub = newProofName();
    mkdirSync(join(dir, sub));
    expect(code(() => verifyProof(dir, sub))).toBe('OUTPOST_E_REQUEST_PROOF');
    expect(code(() => verifyProof(dir, newProofName()))).toBe('OUTPOST_E_REQUEST_PROOF');
  });

  it('never creates a proof through a planted link, nor with a name that is not one', () => {
    const name = newProofName();
    symlinkSync(join(root, 'elsewhere'), join(dir, name));
    expect(code(() => createProof(dir, name))).toBe('OUTPOST_E_REQUEST_PROOF');
    expect(code(() => createProof(dir, '../../etc/passwd'))).toBe('OUTPOST_E_REQUEST_PROOF');
  });
});
