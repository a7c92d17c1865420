/**
 * A hand-driven agent socket for refusal tests: it speaks the protocol one frame at a time so a test can send
 * exactly the wrong thing and observe how the collector closes.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  type AgentFacts,
  type CollectorMessage,
  collectorMessages,
  exportPublicKey,
  PROTOCOL_VERSION,
  signAuthProof,
} from '@outpost/shared';
import { WebSocket } from 'ws';

export const testFacts: AgentFacts = {
  hostname: 'test-host',
  os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0', arch: 'x64' },
  cpu: { model: 'Test CPU', cores: 2 },
  memoryBytes: 1024 ** 3,
};

/** A fresh Ed25519 identity. */
export function newKeys(): { privateKey: KeyObject; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey: exportPublicKey(publicKey) };
}

/** One raw connection. */
export class RawAgent {
  readonly received: CollectorMessage[] = [];
  /** Binary channel frames received (relayed technician input and credit). */
  readonly frames: Buffer[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.frames.push(data as Buffer);
        return;
      }
      this.received.push(collectorMessages.decode(data.toString()));
      for (const w of this.#waiters) w();
    });
  }

  /** Opens a socket (TLS verification off: these tests are about the protocol, the pin is tested elsewhere). */
  static async connect(agentUrl: string, options: { autoPong?: boolean } = {}): Promise<RawAgent> {
    const ws = new WebSocket(`${agentUrl}/v1/agent`, {
      rejectUnauthorized: false,
      perMessageDeflate: false,
      autoPong: options.autoPong ?? true,
    });
    const agent = new RawAgent(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return agent;
  }

  /** Waits for a message of the given type. */
  next<T extends CollectorMessage['type']>(type: T, timeoutMs = 5000): Promise<Extract<CollectorMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.received.find((x) => x.type === type);
        if (m) {
          this.received.splice(this.received.indexOf(m), 1);
          done();
          resolve(m as Extract<CollectorMessage, { type: T }>);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  async nonce(): Promise<string> {
    return (await this.next('collector.challenge')).nonce;
  }

  sendJson(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Sends an enroll hello for `keys` (optionally signed with another key). */
  async enroll(
    token: string,
    keys: { privateKey: KeyObject; publicKey: string },
    signer: KeyObject = keys.privateKey,
  ): Promise<void> {
    const nonce = await this.nonce();
    this.sendJson({
      type: 'agent.hello',
      protocolVersion: PROTOCOL_VERSION,
      agentVersion: '0.0.0-test',
      auth: {
        method: 'enroll',
        token,
        publicKey: keys.publicKey,
        signature: signAuthProof(signer, nonce, 'enroll', keys.publicKey),
      },
      facts: testFacts,
    });
  }

  /** Sends a key hello for `agentId` signed with `signer`. */
  async keyAuth(agentId: string, signer: KeyObject): Promise<void> {
    const nonce = await this.nonce();
    this.sendJson({
      type: 'agent.hello',
      protocolVersion: PROTOCOL_VERSION,
      agentVersion: '0.0.0-test',
      auth: { method: 'key', agentId, signature: signAuthProof(signer, nonce, 'key', agentId) },
      facts: testFacts,
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Enrolls a fresh identity and returns it with its agent id (socket closed). */
export async function enrolledIdentity(
  agentUrl: string,
  token: string,
): Promise<{ agentId: string; keys: { privateKey: KeyObject; publicKey: string } }> {
  const keys = newKeys();
  const a = await RawAgent.connect(agentUrl);
  await a.enroll(token, keys);
  const welcome = await a.next('collector.welcome');
  a.ws.close();
  await a.closed;
  return { agentId: welcome.agentId, keys };
}
