/** The checks concern of the agent: runs the checks the collector pushes and reports their results. */
export { ChecksComponent } from './component.js';
export { runCheck } from './run.js';
