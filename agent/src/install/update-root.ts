/**
 * The release root an installed agent trusts for self-update (docs/0011-releases.md): `install --update-root FILE`
 * copies the offline `1.root.json` beside the configuration, owner-only, and points the configuration's `updateRoot`
 * at it. Given by the admin, never fetched from the collector: the root is what lets an agent refuse a binary that a
 * broken-into collector serves, so it must come from outside the collector (the certificate pin only proves which
 * collector answers, not who released what). The file is byte for byte the release machine's, so `sha256sum` on both
 * sides shows the machine trusts the right root.
 */
import { readFileSync } from 'node:fs';
import { OutpostError } from '@outpost/shared';
import { Metadata, type Root } from '@tufjs/models';
import { type AgentConfig, writeAgentConfig } from '../config/index.js';
import { readIfExists, writeAtomic } from './files.js';
import type { InstallLayout } from './layout.js';

/** A checked release root: its text as given, and its version. */
export interface ReleaseRoot {
  text: string;
  version: number;
}

/** Reads `file` and checks it is TUF root metadata signed by its own root threshold; a bad argument otherwise. */
export function readReleaseRoot(file: string): ReleaseRoot {
  const bad = (why: string, cause?: unknown) =>
    new OutpostError('OUTPOST_E_INSTALL_ARGUMENTS', {
      message: `--update-root ${file.slice(0, 300)}: ${why} (expected the release root, 1.root.json of \`outpost release keys init\`)`,
      details: { file },
      ...(cause ? { cause } : {}),
    });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw bad(`cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, cause);
  }
  if (text.length > 1_000_000) throw bad('is larger than 1 MB');
  let root: Metadata<Root>;
  try {
    root = Metadata.fromJSON('root' as never, JSON.parse(text)) as unknown as Metadata<Root>;
  } catch (cause) {
    throw bad(`is not TUF root metadata: ${(cause as Error).message}`, cause);
  }
  try {
    // Signed by its own threshold of root keys, as the TUF client requires of a trusted root.
    root.verifyDelegate('root', root);
  } catch (cause) {
    throw bad(`is not signed by its own root keys: ${(cause as Error).message}`, cause);
  }
  return { text, version: root.signed.version };
}

/** Writes the root file (0600) and the configuration's pointer when either differs; returns what changed. */
export function trustReleaseRoot(layout: InstallLayout, config: AgentConfig, root: ReleaseRoot): string[] {
  const changes: string[] = [];
  if (readIfExists(layout.updateRootFile) !== root.text) {
    writeAtomic(layout.updateRootFile, root.text, 0o600);
    changes.push(`release root version ${root.version} written to ${layout.targetUpdateRootFile}`);
  }
  if (config.updateRoot !== layout.targetUpdateRootFile) {
    writeAgentConfig(layout.configFile, { ...config, updateRoot: layout.targetUpdateRootFile });
    changes.push('configuration trusts that release root');
  }
  return changes;
}
