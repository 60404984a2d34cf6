/**
 * The compose cluster of docker-compose.yml on a real Docker engine, for docker.test.ts: finding
 * (or starting) an engine, the stand-in base image, a test compose file, and the docker and
 * docker-compose commands the test runs against the containers.
 *
 * The test compose file is docker-compose.yml as `docker-compose config` resolves it, with three
 * things changed and nothing else: each service's host port (free ports, not 8000-8002, which a
 * developer's own cluster may hold), the image's tag (so that the test never replaces the
 * `replicated-log:local` a developer runs) and the Dockerfile's NODE_IMAGE build argument (the
 * stand-in base image where the registry's node image cannot be pulled). It is written whole
 * rather than as an override file because Compose 1.29 appends an override's ports to the
 * original ones instead of replacing them.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { composeConfig, parseComposeConfig, REPO_ROOT } from './container-files.js';
import { freePort } from './harness.js';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without a shell; never throws for a non-zero exit (see `code`). */
export function runCommand(
  file: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandResult> {
  return new Promise((resolveIt) => {
    execFile(
      file,
      [...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', env, cwd: REPO_ROOT },
      (error, stdout, stderr) => {
        let code = 0;
        if (error !== null) {
          const timedOut = error.killed && error.signal === 'SIGTERM';
          code = typeof error.code === 'number' ? error.code : 1;
          if (timedOut) stderr += `\n(${file} ${args.join(' ')}: stopped after ${timeoutMs} ms)`;
          else if (typeof error.code === 'string') stderr += `\n(${error.message})`;
        }
        resolveIt({ code, stdout, stderr });
      },
    );
  });
}

/** Why no Docker test can run here, or undefined when an engine answers (started if needed). */
export async function engineUnavailable(): Promise<string | undefined> {
  const engine = await runCommand('bash', [resolve(REPO_ROOT, '.ci/docker-engine')], 90_000);
  if (engine.code !== 0) return `no Docker engine: ${engine.stderr.trim()}`;
  const compose = await runCommand('docker-compose', ['version'], 30_000);
  if (compose.code !== 0) {
    return `docker-compose does not run (apt-get install docker-compose): ${compose.stderr.trim()}`;
  }
  return undefined;
}

/**
 * The image the Dockerfile builds on: RLOG_TEST_NODE_IMAGE when set (e.g. node:24-bookworm-slim
 * where a registry is reachable), else the stand-in of .ci/docker-base-image, built on first use.
 */
export async function baseImage(): Promise<string> {
  const chosen = process.env['RLOG_TEST_NODE_IMAGE'];
  if (chosen !== undefined && chosen !== '') return chosen;
  const built = await runCommand('bash', [resolve(REPO_ROOT, '.ci/docker-base-image')], 900_000);
  if (built.code !== 0) {
    throw new Error(
      `.ci/docker-base-image failed (or set RLOG_TEST_NODE_IMAGE to a Node 24 image):\n${built.stderr}`,
    );
  }
  const tag = built.stdout.trim().split('\n').at(-1) ?? '';
  if (tag === '') throw new Error('.ci/docker-base-image printed no image tag');
  return tag;
}

export interface TestComposeFile {
  readonly file: string;
  /** Service name → its host port on 127.0.0.1. */
  readonly hostPorts: ReadonlyMap<string, number>;
}

type Json = Record<string, unknown>;

/** Writes the test compose file (see the top of this file) into `dir`. */
export async function writeTestComposeFile(
  dir: string,
  options: { readonly image: string; readonly nodeImage: string; readonly clusterToken: string },
): Promise<TestComposeFile> {
  const run = composeConfig({ CLUSTER_TOKEN: options.clusterToken });
  if (run.status !== 0) throw new Error(`docker-compose config failed:\n${run.stderr}`);
  const project = parseComposeConfig(run.stdout);
  const document = parseYaml(run.stdout) as { services: Record<string, Json> };
  const hostPorts = new Map<string, number>();
  for (const [name, service] of project.services) {
    const spec = document.services[name]!;
    const ports: string[] = [];
    for (const port of service.ports) {
      const hostPort = await freePort();
      hostPorts.set(name, hostPort);
      ports.push(`127.0.0.1:${hostPort}:${port.target}/${port.protocol}`);
    }
    spec['ports'] = ports;
    spec['image'] = options.image;
    if (service.buildContext !== undefined) {
      const build = spec['build'] as Json;
      build['args'] = { ...(build['args'] as Json | undefined), NODE_IMAGE: options.nodeImage };
    }
  }
  const file = join(dir, 'docker-compose.test.yml');
  writeFileSync(file, stringifyYaml(document));
  return { file, hostPorts };
}

/** The tag the test builds: never the `replicated-log:local` a developer's compose runs. */
export const TEST_IMAGE = 'replicated-log:test';
const BUILD_TIMEOUT_MS = 20 * 60_000;

/**
 * Writes the test compose file into `dir` and builds its image (TEST_IMAGE) on the stand-in base
 * image; returns the project, ready for `up`. Docker's layer cache makes a build of unchanged
 * sources quick, which is why .ci/run calls this once (docker-prebuild.ts) before the suite.
 */
export async function buildTestCluster(
  project: string,
  dir: string,
  clusterToken: string,
): Promise<{ readonly compose: DockerCompose; readonly hostPorts: ReadonlyMap<string, number> }> {
  const nodeImage = await baseImage();
  const written = await writeTestComposeFile(dir, { image: TEST_IMAGE, nodeImage, clusterToken });
  const compose = new DockerCompose(project, written.file);
  await compose.compose(['build'], BUILD_TIMEOUT_MS);
  return { compose, hostPorts: written.hostPorts };
}

/** docker-compose and docker commands on one compose project. */
export class DockerCompose {
  constructor(
    readonly name: string,
    readonly file: string,
  ) {}

  /** `docker-compose -p <name> -f <file> ...args`; throws with its output if it fails. */
  async compose(args: readonly string[], timeoutMs = 120_000): Promise<string> {
    const result = await runCommand(
      'docker-compose',
      ['--project-name', this.name, '--file', this.file, ...args],
      timeoutMs,
    );
    if (result.code !== 0) {
      throw new Error(
        `docker-compose ${args.join(' ')} failed (${result.code}):\n${result.stderr}`,
      );
    }
    return result.stdout;
  }

  /** `docker ...args`; throws with its output if it fails. */
  async docker(args: readonly string[], timeoutMs = 60_000): Promise<string> {
    const result = await runCommand('docker', args, timeoutMs);
    if (result.code !== 0) {
      throw new Error(`docker ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    }
    return result.stdout;
  }

  /** The id of a service's (only) container. */
  async containerId(service: string): Promise<string> {
    const id = (await this.compose(['ps', '-q', service])).trim();
    if (id === '') throw new Error(`the ${service} service has no container`);
    return id;
  }

  /** The project's network for the compose file's network `network`. */
  networkName(network: string): string {
    return `${this.name}_${network}`;
  }

  /** The last lines of every container's output, to explain a failure. */
  async logsTail(lines = 30): Promise<string> {
    const result = await runCommand(
      'docker-compose',
      [
        '--project-name',
        this.name,
        '--file',
        this.file,
        'logs',
        '--no-color',
        '--tail',
        `${lines}`,
      ],
      60_000,
    );
    return `${result.stdout}${result.stderr}`;
  }

  /** Removes the containers, the network and the volumes; never throws. */
  async down(): Promise<CommandResult> {
    return runCommand(
      'docker-compose',
      [
        '--project-name',
        this.name,
        '--file',
        this.file,
        'down',
        '--volumes',
        '--remove-orphans',
        '--timeout',
        '5',
      ],
      180_000,
    );
  }
}
