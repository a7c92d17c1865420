/**
 * WebSocket client settings both the agent and the technician CLI use for sockets that carry channel frames.
 */

/**
 * Client options for a socket to `url`: no per-message compression (terminal bytes and file chunks gain little,
 * and a deflate per frame sits on the keystroke path), and over TLS an all-zero masking key, which `ws` then skips
 * (no copy and XOR of every payload on either end). Masking (RFC 6455 §10.3) protects proxies that read the
 * traffic from cache poisoning; inside TLS no intermediary reads it, so the random key buys nothing there. Over
 * plain `ws:` the random key stays.
 */
export function channelSocketOptions(url: string | URL): {
  perMessageDeflate: false;
  generateMask?: (mask: Buffer) => void;
} {
  const tls = new URL(url).protocol === 'wss:';
  return tls ? { perMessageDeflate: false, generateMask: (mask) => mask.fill(0) } : { perMessageDeflate: false };
}
