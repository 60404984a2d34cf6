import { buildTestCluster, engineUnavailable } from './docker-cluster.js';
import { makeTemporaryDir, removeTemporaryDir } from './harness.js';

/**
 * `node dist/e2e/docker-prebuild.js`: builds the Docker test's image (and the stand-in base image
 * under it) once, before the suite, so that the build's CPU-heavy steps (debootstrap, `npm ci`
 * and tsc inside the image) do not run beside other real-process tests, whose timing they would
 * disturb on a 2-core machine. The Docker test then builds the same sources from the layer cache.
 * Exits 1 when no engine answers (where CI must run the Docker test, that is an error).
 */
async function main(): Promise<void> {
  const unavailable = await engineUnavailable();
  if (unavailable !== undefined) {
    process.stderr.write(`docker-prebuild: no Docker engine: ${unavailable}\n`);
    process.exitCode = 1;
    return;
  }
  const dir = makeTemporaryDir('rlog-docker-prebuild-');
  try {
    await buildTestCluster(`rlog-prebuild-${process.pid}`, dir, 'prebuild');
    process.stdout.write('docker-prebuild: the Docker test image is built\n');
  } finally {
    removeTemporaryDir(dir);
  }
}

await main();
