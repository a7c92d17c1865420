/**
 * A list of strings bound as ONE parameter (a JSON array) and used as a set in SQL: `column IN (…)` with a list of any
 * length through one prepared statement, where spelling out `IN (?, ?, …)` would compile a statement per length.
 * SQLite reads the array with `json_each`, PostgreSQL with `json_array_elements_text`.
 */
import type { Dialect } from './sql.js';

/** The subquery yielding the elements of the JSON array bound at its one `?`. */
export function jsonListRows(dialect: Dialect): string {
  return dialect === 'postgres' ? 'SELECT json_array_elements_text(?::json)' : 'SELECT value FROM json_each(?)';
}

/** `column IN (the elements of the JSON array bound at this fragment's one ?)`. */
export function inJsonList(dialect: Dialect, column: string): string {
  return `${column} IN (${jsonListRows(dialect)})`;
}

/** The parameter those fragments bind. */
export const jsonList = (items: readonly string[]): string => JSON.stringify(items);
