/**
 * POST /api/v1/installers: what `outpost installers create` does, for the web console. Creates an enrollment token
 * for a site and answers, per platform this collector serves, the one-liners that download the agent with the
 * collector's key pinned, check its SHA-256 and install silently. The lines come from the CLI's own modules
 * (cli/oneliners.ts, `pickInstallers`), so the console and the CLI print the same commands; the key pin comes from the
 * certificate this collector serves (the CLI reads it over TLS, a browser cannot). The token is in the answer once.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { fingerprintOfDer, OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { Actor, Guard } from '../auth/index.js';
import { pickInstallers } from '../cli/installers.js';
import { type InstallerInput, isWindows, posixLine, powershellLine } from '../cli/oneliners.js';
import { errorResponses } from '../http/schemas.js';
import type { InstallerDirectory } from './manifest.js';

/** The certificate's pins as the one-liners take them. */
export function certificatePins(pem: string): { fingerprint: string; spkiSha256: string } {
  const cert = new X509Certificate(pem);
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return { fingerprint: fingerprintOfDer(cert.raw), spkiSha256: createHash('sha256').update(spki).digest('base64') };
}

const Body = Type.Object(
  {
    siteId: Type.String({ minLength: 1, maxLength: 64 }),
    expiresInHours: Type.Number({ exclusiveMinimum: 0, maximum: 24 * 365, default: 24 * 7 }),
    maxUses: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100 }),
    platforms: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z0-9]+-[a-z0-9]+$', maxLength: 40 }), { maxItems: 20 }),
    ),
    /** The URL agents connect to (default: the origin the console talks to). */
    agentServer: Type.Optional(Type.String({ pattern: '^https?://[^\\s"\']+$', maxLength: 300 })),
    sudo: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

const Answer = Type.Object({
  token: Type.String(),
  tokenId: Type.String(),
  siteId: Type.String(),
  expiresAt: Type.Integer(),
  maxUses: Type.Integer(),
  server: Type.String(),
  certificate: Type.Union([Type.Object({ fingerprint: Type.String(), spkiSha256: Type.String() }), Type.Null()]),
  releaseRootSha256: Type.Union([Type.String(), Type.Null()]),
  installers: Type.Array(
    Type.Object({
      platform: Type.String(),
      file: Type.String(),
      sha256: Type.String(),
      shell: Type.Optional(Type.String()),
      powershell: Type.Optional(Type.String()),
    }),
  ),
});

/** The one-liners route plugin. */
export function installerLinesRoutes(deps: {
  directory: InstallerDirectory;
  guard: Guard;
  /** The PEM certificate the API listener serves (undefined with TLS off: the lines then check hashes only). */
  certificate: string | undefined;
  siteClient(siteId: string): Promise<string | undefined>;
  /** SHA-256 of the release root agents are to trust (null before the first publish: the lines then pin none). */
  releaseRootSha256(): string | null;
  createToken(
    actor: Actor,
    body: { siteId: string; expiresInHours: number; maxUses: number; note: string },
  ): Promise<{ token: string; info: { id: string; expiresAt: number; maxUses: number } }>;
}): FastifyPluginAsyncTypebox {
  const pins = deps.certificate ? certificatePins(deps.certificate) : undefined;
  return async (app) => {
    app.post(
      '/api/v1/installers',
      { schema: { body: Body, response: { 201: Answer, ...errorResponses } } },
      async (req, reply) => {
        const b = req.body;
        const clientId = await deps.siteClient(b.siteId);
        const actor = await deps.guard(req, 'enrollment_token.create', {
          type: 'site',
          id: b.siteId,
          clientId: clientId ?? '?',
        });
        if (!clientId) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No site ${b.siteId}` });
        // The manifest first: a platform the collector cannot serve costs no token.
        const chosen = pickInstallers(deps.directory.manifest().files, b.platforms);
        const origin = `${req.protocol}://${req.host}`;
        const agentServer = b.agentServer?.replace(/\/$/, '') ?? origin;
        const created = await deps.createToken(actor, {
          siteId: b.siteId,
          expiresInHours: b.expiresInHours,
          maxUses: b.maxUses,
          note: 'web console installers',
        });
        const root = deps.releaseRootSha256();
        const installers = chosen.map((f) => {
          const input: InstallerInput = {
            downloadBase: origin,
            agentServer,
            token: created.token,
            caFingerprint: pins?.fingerprint,
            spkiSha256: pins?.spkiSha256,
            file: f.file,
            sha256: f.sha256,
            platform: f.platform,
            sudo: b.sudo,
            updateRootSha256: root ?? undefined,
          };
          return {
            platform: f.platform,
            file: f.file,
            sha256: f.sha256,
            ...(isWindows(f.platform) ? { powershell: powershellLine(input) } : { shell: posixLine(input) }),
          };
        });
        return reply.status(201).send({
          token: created.token,
          tokenId: created.info.id,
          siteId: b.siteId,
          expiresAt: created.info.expiresAt,
          maxUses: created.info.maxUses,
          server: agentServer,
          certificate: pins ?? null,
          releaseRootSha256: root,
          installers,
        });
      },
    );
  };
}
