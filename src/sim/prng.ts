export { Prng } from '../core/prng.js'; // the project's one PRNG: same sfc32, so seeds replay
