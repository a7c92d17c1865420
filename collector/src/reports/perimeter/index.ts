/**
 * The perimeter documentation report (per client or site): figures from the inventory concern's public functions,
 * rendered as print-friendly HTML or CSV. It must never read another concern's tables, and never emit an agent
 * string unescaped.
 */
export { buildPerimeter, type MachineSection, type PerimeterOptions, type PerimeterReport } from './data.js';
export { renderPerimeterCsv, renderPerimeterHtml } from './render.js';
export { type PerimeterRouteDeps, perimeterRoutes } from './routes.js';
export { MachineSectionSchema, PerimeterReportSchema } from './schema.js';
