/** The global flags every command receives, defaulted by cli.ts (the only place that parses flags). */
export interface CliGlobals {
  /** The configuration file: --config, else OUTPOST_AGENT_CONFIG, else the platform's place. */
  config: string;
  /** The state directory that goes with it. */
  stateDir: string;
  /** --log-level, else OUTPOST_LOG_LEVEL, else undefined (each command picks its own). */
  logLevel: string | undefined;
  /** Where `config` came from, said in errors. */
  configFrom: string;
}
