/** Starts the Temporal dev server (SQLite, Web UI optional) with the project's search attributes, or connects to TEMPORAL_ADDRESS. */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { CONTACT_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { resolveTemporalCli } from './temporal-cli';

export interface DevTemporalOptions {
  /** SQLite file for persistence across restarts; in memory when absent */
  dbFilename?: string;
  port?: number;
  ui?: boolean;
  uiPort?: number;
  namespace?: string;
  extraArgs?: string[];
  log?: (message: string) => void;
}

export interface DevTemporal {
  address: string;
  cliPath: string | undefined;
  stop(): Promise<void>;
}

export async function startDevTemporal(options: DevTemporalOptions = {}): Promise<DevTemporal> {
  const cliPath = await resolveTemporalCli(options.log);
  // No binary and no Go: the SDK downloads one (machines with internet only).
  const executable = cliPath ? { type: 'existing-path' as const, path: cliPath } : { type: 'cached-download' as const };
  const environment = await TestWorkflowEnvironment.createLocal({
    server: {
      executable,
      ip: '127.0.0.1',
      port: options.port,
      ui: options.ui ?? false,
      uiPort: options.uiPort,
      dbFilename: options.dbFilename,
      namespace: options.namespace,
      searchAttributes: CONTACT_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'warn' },
      extraArgs: options.extraArgs,
    },
  });
  return { address: environment.address, cliPath, stop: () => environment.teardown() };
}
