import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { preloadedWorkflowModules } from '../../../worker/consent-worker';
import { probeSchemas, SCHEMAS_WITH_FORMAT_CHECKS, type ProbeResult } from './sandbox/schema-probes';
import type { probeSchemasInSandbox } from './sandbox/workflows';

describe('zod shared between workflows (preloaded and frozen by the SDK)', () => {
  it('every workflow-side schema answers inside a real worker exactly as it does outside, and none throws', async () => {
    // Bundled as the production worker bundles: the same preloaded modules, so zod is shared and frozen.
    const bundle = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, 'sandbox', 'workflows.ts'),
      preloadModules: preloadedWorkflowModules(),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
    });
    const address = inject('temporalAddress');
    const connection = await NativeConnection.connect({ address });
    const clientConnection = await Connection.connect({ address });
    const taskQueue = `zod-sandbox-${randomUUID()}`;
    const worker = await Worker.create({ connection, taskQueue, workflowBundle: bundle });
    try {
      const inSandbox = await worker.runUntil(
        new Client({ connection: clientConnection }).workflow.execute<typeof probeSchemasInSandbox>('probeSchemasInSandbox', {
          workflowId: `zod-sandbox-${randomUUID()}`,
          taskQueue,
          workflowTaskTimeout: '10s',
        }),
      );
      // The bundler and Node list a module's exports in different orders: compare by schema and probe.
      const byProbe = (results: ProbeResult[]) => [...results].sort((a, b) => `${a.schema}#${a.probe}`.localeCompare(`${b.schema}#${b.probe}`));
      expect(inSandbox.filter((result) => result.threw !== undefined)).toEqual([]);
      expect(byProbe(inSandbox)).toEqual(byProbe(probeSchemas()));
      // The probes reach the format checks: valid and invalid values of each were both seen.
      for (const schema of SCHEMAS_WITH_FORMAT_CHECKS) {
        const answers = inSandbox.filter((result) => result.schema === schema).map((result) => result.success);
        expect(answers, schema).toContain(true);
      }
      expect(inSandbox.some((result) => result.schema === 'consentSourceSchema' && result.messages?.includes('must be an IPv4 or IPv6 address'))).toBe(true);
      expect(inSandbox.some((result) => result.schema === 'consentSourceSchema' && result.messages?.includes('must be an http(s) URL'))).toBe(true);
    } finally {
      await clientConnection.close();
      await connection.close();
    }
  }, 120_000);
});
