/** @deprecated moved to src/protocol: import it from '../protocol/well-formed.js'. */
export { isWellFormed } from '../protocol/well-formed.js';
