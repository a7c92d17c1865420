/**
 * The inventory concern owns devices (stable machine identity across agents), the current inventory per device and
 * probe, the typed change history, fleet queries and the OS end-of-life table. It must never read another concern's
 * tables (it asks the agents concern where an agent belongs), never store an agent string uncleaned, and never
 * merge two machines on a placeholder serial or a shared UUID.
 */

export {
  DeviceSchema,
  EolSchema,
  type InventoryAnswer,
  InventoryAnswerSchema,
  type ProbeEntry,
  ProbeEntrySchema,
} from './answers.js';
export { type DemoMachine, demoRows, fullReport } from './demo-fleet.js';
export { EOL_TABLE, EOL_TABLE_DATE, type EolStatus, eolStatus } from './eol.js';
export { CHANGE_KINDS, type ChangeKind, changesFor } from './history.js';
export { isBogusSerial, isBogusUuid, matchDevice } from './identity.js';
export { FleetQueries, type FleetRow, type Scope } from './queries.js';
export { inventoryRoutes } from './routes.js';
export { fleetScope } from './scope.js';
export {
  type DeviceInventory,
  hardwareAgeYears,
  Inventory,
  type InventoryDeps,
  type InventoryFacts,
} from './service.js';
export { type ChangeRecord, type DeviceRecord, inventoryMigrations } from './store.js';
