/** A workflow that runs the schema probes inside the sandbox; bundled by the test only. */
import { probeSchemas, type ProbeResult } from './schema-probes';

export async function probeSchemasInSandbox(): Promise<ProbeResult[]> {
  return probeSchemas();
}
