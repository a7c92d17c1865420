/**
 * Detection's own timers: the absence sweep (a silent machine) every heartbeat interval, the inventory-rules sweep
 * (licences and certificates expire with no new report) every hour. The engine decides; this only keeps time. On
 * several nodes one runs them (a lease): while it does, it loads and writes the fleet-wide checkpoint keys.
 */
import type { Logger } from 'pino';
import type { DetectionEngine } from './engine.js';

/** The fleet-wide checkpoint keys, owned by the node running the sweeps (checkpoint.ts). */
export interface FleetKeys {
  ownFleet(): Promise<void>;
  disownFleet(): void;
}

/** How often every machine's inventory is judged again without a new report: expiries are dated to the day. */
export const INVENTORY_SWEEP_MS = 3_600_000;

/** The sweeps' timers, started and stopped by the composition root. */
export class DetectionSweeps {
  readonly name = 'detection sweeps';
  #timers: NodeJS.Timeout[] = [];
  /** The fleet keys loaded: the first absence sweep waits for them (else it would raise again what is open). */
  #owned: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: DetectionEngine,
    private readonly opts: { absenceEveryMs: number; inventoryEveryMs?: number; fleet?: FleetKeys },
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stop();
    const fleet = this.opts.fleet;
    if (fleet) this.#owned = fleet.ownFleet();
    this.#timers = [
      setInterval(() => {
        this.#owned
          .then(() => this.engine.sweepAbsence())
          .catch((err: unknown) => this.logger.error({ err }, 'absence sweep failed'));
      }, this.opts.absenceEveryMs).unref(),
      setInterval(() => {
        this.engine
          .sweepInventory()
          .catch((err: unknown) => this.logger.error({ err }, 'inventory rules sweep failed'));
      }, this.opts.inventoryEveryMs ?? INVENTORY_SWEEP_MS).unref(),
    ];
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.opts.fleet?.disownFleet();
  }
}
