/**
 * vitest global setup of the `collector` and `test` projects: one PostgreSQL cluster and one nats-server for the
 * whole run, instead of one per test file (a cluster takes about 7 s to start on the CI machine; a database on a
 * running one, 0.1 s). Each file then takes a fresh database (`freshPostgres`) or its own NATS deployment namespace.
 * They reach the workers through OUTPOST_TEST_PG_URL and OUTPOST_TEST_NATS_URL, which the forked workers inherit.
 * When those are already set (`.ci/run` starts both before the suites) nothing is started here; when the binaries are
 * missing nothing is either, and the tests skip, saying why.
 */
import { postgresUnavailable, startPgCluster } from '../../collector/src/db/pg-cluster.fixture.js';
import { natsUnavailable, startNats } from './nats.js';

interface Services {
  users: number;
  started: Promise<(() => Promise<void>)[]>;
}

/** Shared by both projects' copies of this module (each project may load its own): the process is the same. */
const registry = globalThis as { outpostTestServices?: Services };

async function start(): Promise<(() => Promise<void>)[]> {
  const stops: (() => Promise<void>)[] = [];
  if (!process.env.OUTPOST_TEST_PG_URL && !postgresUnavailable) {
    const cluster = await startPgCluster();
    process.env.OUTPOST_TEST_PG_URL = cluster.url('postgres');
    stops.push(async () => {
      delete process.env.OUTPOST_TEST_PG_URL;
      await cluster.stop();
    });
  }
  if (!process.env.OUTPOST_TEST_NATS_URL && !natsUnavailable()) {
    const nats = await startNats();
    process.env.OUTPOST_TEST_NATS_URL = nats.url;
    stops.push(async () => {
      delete process.env.OUTPOST_TEST_NATS_URL;
      await nats[Symbol.asyncDispose]();
    });
  }
  return stops;
}

/** The first project to set up starts the services; the last to tear down stops them. */
export default async function setup(): Promise<() => Promise<void>> {
  registry.outpostTestServices ??= { users: 0, started: start() };
  const services = registry.outpostTestServices;
  services.users += 1;
  await services.started;
  return async () => {
    services.users -= 1;
    if (services.users > 0) return;
    registry.outpostTestServices = undefined;
    for (const stop of await services.started) await stop();
  };
}
