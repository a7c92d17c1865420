/**
 * The database concern owns the connection, its pragmas and the migration runner — never a concern's tables.
 */
export { type Db, type Migration, migrate, openDatabase, prepared } from './database.js';
