/**
 * The service concern owns installing the packaged collector as a hardened systemd service and removing it. It holds
 * no table; it must never overwrite an operator's configuration nor touch the system without root.
 */
export { installService, requireRoot, runSystemctl, type StepResult, uninstallService } from './install.js';
export { collectorUnit, SERVICE_LAYOUT } from './unit.js';
