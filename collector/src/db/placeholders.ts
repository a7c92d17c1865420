/**
 * `?` placeholders, as stores write them, turned into PostgreSQL's `$1, $2…`. Only a `?` outside quoted strings,
 * quoted identifiers and comments is a placeholder; the translation of each distinct text is cached (a store's SQL
 * is a small fixed set).
 */
const cache = new Map<string, string>();

/** The PostgreSQL text of a statement written with `?` placeholders. */
export function toDollarParams(sql: string): string {
  const hit = cache.get(sql);
  if (hit !== undefined) return hit;
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      // A quoted string or identifier runs to the matching quote; a doubled quote is an escaped one.
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(c, j);
        if (k === -1) {
          j = sql.length;
          break;
        }
        if (sql[k + 1] === c) {
          j = k + 2;
          continue;
        }
        j = k + 1;
        break;
      }
      out += sql.slice(i, j);
      i = j;
    } else if (c === '-' && sql[i + 1] === '-') {
      const k = sql.indexOf('\n', i);
      const j = k === -1 ? sql.length : k;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '/' && sql[i + 1] === '*') {
      const k = sql.indexOf('*/', i + 2);
      const j = k === -1 ? sql.length : k + 2;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '?') {
      out += `$${++n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  cache.set(sql, out);
  return out;
}
