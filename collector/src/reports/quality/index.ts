/**
 * The service-quality report for the technical committee (per client and period): incidents by type and
 * criticality, MTTA/MTTR, SLA compliance, breaches and the penalties they imply, top recurring faults, and the trend
 * against the previous period. Figures come from the incidents and contracts concerns' public functions.
 */
export { buildQuality, type PeriodFigures, type QualityReport, type QualitySources } from './data.js';
export { renderQualityCsv, renderQualityHtml } from './render.js';
export { qualityRoutes } from './routes.js';
export { PeriodFiguresSchema, QualityReportSchema } from './schema.js';
