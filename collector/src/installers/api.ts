/**
 * The installers concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox only, so the CLI can load it without Fastify or SQLite.
 */
import { type Static, Type } from '@sinclair/typebox';

/** A file name as it may appear in a manifest: no directory part, no leading dot. */
export const INSTALLER_NAME = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$';

/** One listed file. Other fields (format, arch…) written by other builds are kept. */
export const ManifestEntry = Type.Object(
  {
    file: Type.String({ pattern: INSTALLER_NAME }),
    platform: Type.String({ minLength: 1, maxLength: 64 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    size: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: true },
);
/** manifest.json. */
export const InstallerManifest = Type.Object(
  { agentVersion: Type.Optional(Type.String({ maxLength: 64 })), files: Type.Array(ManifestEntry, { maxItems: 1000 }) },
  { additionalProperties: true },
);
/** manifest.json, as read. */
export type InstallerManifest = Static<typeof InstallerManifest>;
/** One listed file, as read. */
export type ManifestEntry = Static<typeof ManifestEntry>;
