/**
 * The auth concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox and the shared HTTP schemas only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';
import { NullableString, NullableTime } from '../http/schemas.js';
import { ROLES } from './permissions.js';

/** A role on a client (or on every client: null). */
export const RoleBinding = Type.Object(
  { role: Type.Union(ROLES.map((r) => Type.Literal(r))), clientId: NullableString },
  { additionalProperties: false },
);
/** A user as the API shows it (never a secret). */
export const UserView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  roles: Type.Array(RoleBinding),
  totpEnabled: Type.Boolean(),
  createdAt: Type.Integer(),
  disabled: Type.Boolean(),
});
/** An API token's record (never the token). */
export const TokenInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.Integer(),
  expiresAt: NullableTime,
  lastUsedAt: NullableTime,
  revokedAt: NullableTime,
});
/** A signed-in session: the bearer token and the console's CSRF token. */
export const LoginSession = Type.Object({
  token: Type.String(),
  expiresAt: Type.Integer(),
  user: UserView,
  /** What the console sends as `X-Outpost-CSRF` on every change made with the session cookie. */
  csrfToken: Type.String(),
});

/** A password change and how many of the user's other credentials it ended. */
export const PasswordChanged = Type.Object({ ok: Type.Literal(true), endedTokens: Type.Integer() });

/** A created API token: the secret, shown once, and its record. */
export const CreatedApiToken = Type.Object({ token: Type.String(), info: TokenInfo });

/** The caller's API tokens. */
export const ApiTokenList = Type.Object({ tokens: Type.Array(TokenInfo) });

/** A TOTP secret to confirm, and its otpauth:// URI. */
export const TotpSetup = Type.Object({ secret: Type.String(), uri: Type.String() });

/** Every user. */
export const UserList = Type.Object({ users: Type.Array(UserView) });

/** The CSRF token of the session cookie. */
export const CsrfToken = Type.Object({ csrfToken: Type.String() });
