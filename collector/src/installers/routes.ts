/**
 * GET /install/manifest.json and GET /install/<file>: the agent executables and packages this collector was shipped
 * with. Public (the files hold no secret: enrolment needs a token) but rate-limited per source address. A file is
 * served only when the manifest lists its exact name, with its SHA-256 in `x-outpost-sha256`.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { ErrorBody } from '../http/schemas.js';
import { InstallerManifest } from './api.js';
import { INSTALLER_NAME, type InstallerDirectory } from './manifest.js';
import type { DownloadThrottle } from './throttle.js';

/** The header carrying a served file's SHA-256 (hex), as listed in the manifest. */
export const SHA256_HEADER = 'x-outpost-sha256';

const errors = { 400: ErrorBody, 404: ErrorBody, 429: ErrorBody, 500: ErrorBody };

/** The installers routes plugin. */
export function installersRoutes(deps: {
  directory: InstallerDirectory;
  throttle: DownloadThrottle;
}): FastifyPluginAsyncTypebox {
  const budget = (req: FastifyRequest) => {
    const wait = deps.throttle.take(req.ip);
    if (wait > 0) throw new OutpostError('OUTPOST_E_INSTALLER_THROTTLED', { details: { retryAfterSec: wait } });
  };
  return async (app) => {
    app.get(
      '/install/manifest.json',
      { config: { public: true }, schema: { response: { 200: InstallerManifest, ...errors } } },
      async (req, reply) => {
        budget(req);
        const manifest = deps.directory.manifest();
        return reply.header('cache-control', 'no-cache').send(manifest);
      },
    );
    app.get(
      '/install/:file',
      {
        config: { public: true },
        schema: {
          params: Type.Object({ file: Type.String({ pattern: INSTALLER_NAME }) }, { additionalProperties: false }),
          response: { 200: Type.Unknown(), ...errors },
        },
      },
      async (req, reply) => {
        budget(req);
        const f = await deps.directory.open(req.params.file);
        req.log.info({ file: f.entry.file, size: f.size, ip: req.ip }, 'installer download');
        return reply
          .header('content-type', 'application/octet-stream')
          .header('content-length', String(f.size))
          .header('content-disposition', `attachment; filename="${f.entry.file}"`)
          .header(SHA256_HEADER, f.entry.sha256)
          .header('cache-control', 'no-cache')
          .send(f.stream);
      },
    );
  };
}
