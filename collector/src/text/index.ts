/**
 * Text leaving the collector for a person or a program: the terminal (the CLI), CSV and HTML (reports, fleet
 * queries). Owns every escaping rule in one place so no output path can forget one. It never strips data: a hostile
 * character is shown as a visible escape (`\x1b`, `\u202e`), so a technician sees that it was there.
 */
export { csvCell, escapeHtml, jsonForTerminal, toCsv, visible } from './escape.js';
