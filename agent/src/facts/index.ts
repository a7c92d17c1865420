/** The facts concern owns the basic machine facts sent in the hello. It must never block the connection for long. */
export { collectFacts } from './facts.js';
