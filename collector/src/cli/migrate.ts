/** `outpost migrate --to postgres://…`: the copy of a stopped collector's SQLite database into PostgreSQL. */
import { checkSettings, mergeSettings, readSettingsFile } from '../config.js';
import { printJson, printRows, printText } from './output.js';

/** Flags of `outpost migrate`. */
export interface MigrateFlags {
  to: string;
  config?: string;
  dataDir?: string;
  json?: boolean;
}

/** Copies `<dataDir>/outpost.db` into the empty database of `--to`; prints a row count per table. */
export async function migrateCommand(flags: MigrateFlags): Promise<void> {
  const file = flags.config ? readSettingsFile(flags.config) : {};
  // The target is checked as `storage.url` is, so a URL `outpost serve` would refuse is refused here too.
  const settings = checkSettings(
    mergeSettings(file, { dataDir: flags.dataDir, 'storage.url': flags.to }),
    flags.config ?? 'flags',
  );
  // Loaded on demand, as `serve` loads the server: the migrations of every concern.
  const [{ MIGRATIONS }, { copyToPostgres, sqliteFileOf }] = await Promise.all([
    import('../app.js'),
    import('../db/index.js'),
  ]);
  const report = await copyToPostgres(sqliteFileOf(settings.dataDir), settings.storage.url!, MIGRATIONS);
  if (flags.json) {
    printJson(report);
    return;
  }
  printRows(
    report.tables.map((t) => ({ ...t })),
    [
      { key: 'table', title: 'table' },
      { key: 'sqliteRows', title: 'sqlite rows' },
      { key: 'postgresRows', title: 'postgresql rows' },
    ],
    false,
  );
  printText(
    `\nCopied ${report.rows} rows of ${report.tables.length} tables from ${report.source} to ${report.target} in ${report.ms} ms; every count matches.\nNext: set storage.url to this database in the collector's configuration and start it.\n`,
  );
}
