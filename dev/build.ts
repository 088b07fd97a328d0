/**
 * `npm run build`: the production build, as Temporal's production sample does it. The TypeScript is compiled to
 * dist/ (tsconfig.build.json), the SQL migrations and the console's views and assets copied beside their code, and the workflows bundled once into
 * dist/workflow-bundle.js, which a worker started from dist/ loads instead of bundling at every start.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { preloadedWorkflowModules, PREBUILT_WORKFLOW_BUNDLE, workflowsPath } from '../worker/consent-worker';

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');

async function build(): Promise<void> {
  const started = Date.now();
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  await cp(path.join(root, 'activities', 'postgres', 'migrations'), path.join(dist, 'activities', 'postgres', 'migrations'), { recursive: true });
  // The console's templates and stylesheet, so dist/ runs the console without the source tree beside it.
  for (const folder of ['views', 'assets']) {
    await cp(path.join(root, 'client', 'http', 'console', folder), path.join(dist, 'client', 'http', 'console', folder), { recursive: true });
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), preloadModules: preloadedWorkflowModules() });
  await mkdir(dist, { recursive: true });
  await writeFile(path.join(dist, PREBUILT_WORKFLOW_BUNDLE), code);
  console.error(`built dist/ (compiled TypeScript, migrations, console views, ${PREBUILT_WORKFLOW_BUNDLE} of ${Math.round(code.length / 1024)} KiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

build().catch((error: unknown) => {
  console.error(`npm run build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
