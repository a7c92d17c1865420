/**
 * Credential primitives, node:crypto only: scrypt password hashes, TOTP (RFC 6238), opaque bearer tokens stored as
 * SHA-256 hashes. Comparisons are constant-time.
 */
import { createHash, createHmac, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keylen: 32, maxmem: 64 * 1024 * 1024 } as const;

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { N, r, p, maxmem: SCRYPT.maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Why a password is refused, or undefined when it is acceptable. */
export function checkPasswordPolicy(password: string): string | undefined {
  if (password.length < 12) return 'at least 12 characters';
  if (password.length > 1024) return 'at most 1024 characters';
  return undefined;
}

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keylen);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Verifies a password against an encoded hash; false for a wrong password or a malformed encoding. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || N > 2 ** 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || expected.length < 16) return false;
  const key = await scryptAsync(password, salt, N, r, p, expected.length);
  return timingSafeEqual(key, expected);
}

const PASSWORD_ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** A random 20-character password from an alphabet without look-alike characters. */
export function generatePassword(): string {
  let out = '';
  for (let i = 0; i < 20; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding. */
export function base32Encode(buf: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 (case-insensitive, padding and spaces ignored); throws on other characters. */
export function base32Decode(s: string): Buffer {
  const clean = s.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const idx = B32.indexOf(ch);
    if (idx < 0) throw new RangeError(`invalid base32 character ${JSON.stringify(ch)}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new TOTP secret (20 random bytes, base32). */
export function generateTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

function hotp(secret: Buffer, counter: number, digits: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return code.toString().padStart(digits, '0');
}

/** The TOTP code (SHA-1, 30 s steps) at a time. */
export function totpCode(secretB32: string, timeMs: number, digits = 6): string {
  return hotp(base32Decode(secretB32), Math.floor(timeMs / 30_000), digits);
}

/** The matched time step when `code` is valid within ±`window` steps, so callers can refuse a replayed step. */
export function verifyTotp(secretB32: string, code: string, timeMs: number, window = 1): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const secret = base32Decode(secretB32);
  const step = Math.floor(timeMs / 30_000);
  for (let d = -window; d <= window; d++) {
    const candidate = Buffer.from(hotp(secret, step + d, 6));
    if (timingSafeEqual(candidate, Buffer.from(code))) return step + d;
  }
  return undefined;
}

/** The otpauth:// URI an authenticator app scans. */
export function totpUri(secretB32: string, account: string, issuer = 'Outpost'): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  return `otpauth://totp/${label}?secret=${secretB32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`;
}

/** Token kinds: personal API token, console session, enrollment token. */
export type TokenPrefix = 'opt' | 'ost' | 'oet';

const TOKEN_RE = /^(opt|ost|oet)_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** SHA-256 hex of a token: what is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new token `<prefix>_<id>_<secret>`: the id is stored in clear for lookup, the whole token only as a hash. */
export function newToken(prefix: TokenPrefix): { token: string; id: string; hash: string } {
  const id = randomBytes(6).toString('hex');
  const token = `${prefix}_${id}_${randomBytes(32).toString('base64url')}`;
  return { token, id, hash: hashToken(token) };
}

/** Splits a token into its prefix and id, or undefined when it is not shaped like one. */
export function parseToken(token: string): { prefix: TokenPrefix; id: string } | undefined {
  const m = TOKEN_RE.exec(token);
  return m ? { prefix: m[1] as TokenPrefix, id: m[2]! } : undefined;
}

/** Constant-time comparison of a presented token with a stored hash. */
export function tokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The CSRF token of a console session: an HMAC of a fixed label keyed by the session token itself, so it is bound
 * to that session, needs no storage, and cannot be computed by a page that does not hold the session token.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('outpost-csrf-v1').digest('base64url');
}

/** Constant-time check of a presented CSRF token against the session's. */
export function csrfMatches(sessionToken: string, presented: string): boolean {
  const a = Buffer.from(csrfTokenFor(sessionToken));
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
