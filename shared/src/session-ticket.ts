/**
 * Session tickets (docs/0007-shell.md): the collector signs, with its own Ed25519 key, a short-lived claim that a
 * user may open one session on one agent; the agent verifies it with the public key it received at enrollment, so
 * a forged or replayed `shell.open` cannot start a shell even if it reaches the agent's socket.
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { importPublicKey } from './auth-proof.js';
import { TICKET_MAX_TTL_MS, TicketClaims } from './protocol/shell.js';

const checkClaims = TypeCompiler.Compile(TicketClaims);
const DOMAIN = 'outpost/v1/session-ticket\n';

/** Signs claims into a ticket string. */
export function signTicket(privateKey: KeyObject, claims: TicketClaims): string {
  const body = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  const sig = sign(null, Buffer.from(DOMAIN + body, 'utf8'), privateKey).toString('base64url');
  return `${body}.${sig}`;
}

/** Why a ticket was refused. */
export type TicketRefusal = 'malformed' | 'signature' | 'expired' | 'too_long' | 'wrong_agent' | 'wrong_session';

/** Verifies a ticket's signature, shape, binding and freshness; returns the claims or the reason it fails. */
export function verifyTicket(
  publicKeyB64: string,
  ticket: string,
  expect: { agentId: string; sessionId: string; now: number; skewMs?: number },
): { ok: true; claims: TicketClaims } | { ok: false; reason: TicketRefusal } {
  const dot = ticket.indexOf('.');
  if (dot <= 0 || dot !== ticket.lastIndexOf('.')) return { ok: false, reason: 'malformed' };
  const body = ticket.slice(0, dot);
  const sig = Buffer.from(ticket.slice(dot + 1), 'base64url');
  let valid = false;
  try {
    valid = sig.length === 64 && verify(null, Buffer.from(DOMAIN + body, 'utf8'), importPublicKey(publicKeyB64), sig);
  } catch {
    // A malformed key or signature is simply not a valid ticket.
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'signature' };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!checkClaims.Check(claims)) return { ok: false, reason: 'malformed' };
  const skew = expect.skewMs ?? 5_000;
  if (claims.exp - claims.iat > TICKET_MAX_TTL_MS) return { ok: false, reason: 'too_long' };
  if (claims.exp + skew <= expect.now || claims.iat - skew > expect.now) return { ok: false, reason: 'expired' };
  if (claims.agentId !== expect.agentId) return { ok: false, reason: 'wrong_agent' };
  if (claims.sessionId !== expect.sessionId) return { ok: false, reason: 'wrong_session' };
  return { ok: true, claims };
}
