/** The collector's release version (kept equal to package.json by the release script). */
export const COLLECTOR_VERSION = '0.1.0';
