/**
 * docker-compose.yml is valid as written and runs what the README says: Temporal on Postgres, its Web UI, the search
 * attributes registered at start, and this project's worker (scalable) and API with the configuration they require.
 * Read through `docker-compose config`, so what is checked is what Compose itself resolved.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { SearchAttributeType } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, standaloneEndpoints } from '../../client/config';
import { CONTACT_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
/** A clean environment, so a developer's SMS_PROVIDER or LOG_LEVEL cannot change what Compose resolves. */
const composeEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | null>;
  ports?: unknown[];
  expose?: unknown[];
  container_name?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
}

async function dockerCompose(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('docker-compose', args, { cwd: root, env: composeEnv });
    return stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('docker-compose is not installed: run `apt-get install -y docker-compose` (.ci/run installs it when missing)');
    }
    const { stderr } = error as { stderr?: string };
    throw new Error(`docker-compose ${args.join(' ')} failed:\n${stderr ?? String(error)}`);
  }
}

/** Resolved once, read by every test: each fails on its own (never skipped) when docker-compose is missing. */
let resolved: Promise<Record<string, ComposeService>> | undefined;
function composeServices(): Promise<Record<string, ComposeService>> {
  // Debian's docker-compose 1.29 has no `config --format json`: its output is YAML.
  resolved ??= dockerCompose('config').then((output) => parse(output).services);
  return resolved;
}

function environmentOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

it('docker-compose.yml is valid as written', async () => {
  await expect(dockerCompose('-f', 'docker-compose.yml', 'config', '--quiet')).resolves.toBe('');
  const services = await composeServices();
  expect(Object.keys(services).sort()).toEqual(['api', 'postgres', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'worker']);
});

it('Temporal runs on the Postgres service, from the official images, with its Web UI', async () => {
  const services = await composeServices();
  const temporal = services.temporal!;
  expect(temporal.image).toMatch(/^temporalio\/(auto-setup|server):/);
  expect(temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
  expect(temporal.depends_on?.postgres?.condition).toBe('service_healthy');
  expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
  expect(services['temporal-ui']!.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  expect(services.postgres!.image).toMatch(/^postgres:/);
});

describe('the worker and the API', () => {
  const packageScripts = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;

  it.each([
    ['worker', 'worker/main.ts'],
    ['api', 'client/http/main.ts'],
  ])('the %s service runs the built %s with node, as PID 1, from an image that builds it', async (name, entryPoint) => {
    const services = await composeServices();
    // node itself receives the SIGTERM that `docker stop` sends, and drains.
    expect(services[name]!.command).toEqual(['node', `dist/${entryPoint.replace(/\.ts$/, '.js')}`]);
    expect(services[name]!.build ?? services[name]!.image).toBeDefined();
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/^RUN npm run build && npm prune --omit=dev/m);
    // Outside Docker the npm scripts run the sources; `exec` so npm's shell does not swallow the SIGTERM.
    expect(packageScripts[name]).toBe(`exec tsx ${entryPoint}`);
  });

  it.each(['worker', 'api'])('the %s service has every setting the app requires to start on its own', async (name) => {
    const services = await composeServices();
    const environment = environmentOf(services[name]!);
    // The app's own validation, the one `npm run worker` / `npm run api` run at start.
    const { env } = loadConfig(environment);
    const role = name === 'worker' ? 'worker' : 'API';
    // Plaintext to the compose network's Temporal: no TLS or API key settings.
    await expect(standaloneEndpoints(env, role)).resolves.toEqual({
      temporal: { address: 'temporal:7233' },
      databaseUrl: expect.stringMatching(/^postgres:\/\/[^@]+@postgres:5432\/\w+$/),
    });
    expect(environment).toMatchObject({ TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: 'sms-consent' });
    expect(services[name]!.depends_on).toMatchObject({
      postgres: { condition: 'service_healthy' },
      'temporal-search-attributes': { condition: 'service_completed_successfully' },
    });
  });

  it('the worker scales: no container name, no host port; it serves metrics to the compose network only', async () => {
    const worker = (await composeServices()).worker!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    const { env } = loadConfig(environmentOf(worker));
    expect(env.METRICS_BIND_ADDRESS).toBe('0.0.0.0:9464');
    expect(worker.expose).toEqual(['9464']);
  });

  it("Docker gives a stopping worker more time than the worker's own shutdown grace before SIGKILL", async () => {
    const worker = (await composeServices()).worker!;
    const { env } = loadConfig(environmentOf(worker));
    const period = /^(\d+)(s|m)$/.exec(worker.stop_grace_period ?? '10s');
    expect(period, `stop_grace_period ${worker.stop_grace_period}`).not.toBeNull();
    const periodMs = Number(period![1]) * (period![2] === 'm' ? 60_000 : 1000);
    expect(periodMs).toBeGreaterThan(env.WORKER_SHUTDOWN_GRACE_MS + 5000);
  });

  it('the API listens on all interfaces of its container, on the port it publishes', async () => {
    const api = (await composeServices()).api!;
    const { env } = loadConfig(environmentOf(api));
    expect(env.HOST).toBe('0.0.0.0');
    expect(api.ports).toEqual([{ published: 8080, target: env.PORT }]);
  });
});

it('the search attributes of workflows/search-attributes.ts are registered before the app starts, in its namespace', async () => {
  const job = (await composeServices())['temporal-search-attributes']!;
  expect(job.image).toMatch(/^temporalio\/admin-tools:/);
  const script = [job.entrypoint, job.command].flat().join(' ');
  const typeNames: Partial<Record<SearchAttributeType, string>> = { [SearchAttributeType.BOOL]: 'Bool', [SearchAttributeType.KEYWORD]: 'Keyword' };
  const created = script.slice(script.indexOf('search-attribute create'));
  expect(created).toContain('--namespace default');
  for (const attribute of CONTACT_SEARCH_ATTRIBUTES) {
    expect(created).toContain(`--name ${attribute.name} --type ${typeNames[attribute.type]}`);
  }
  // No `|| true`: a failed registration fails the job, and the worker and API do not start.
  expect(script).not.toMatch(/\|\|\s*true/);
});
