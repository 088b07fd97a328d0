/**
 * Upgrade safety for long-lived actors: every committed history (test/replay/histories/<version>/*.json, written by
 * test/replay/capture.ts) must replay against the current workflow code. A change to workflows/ that would fail a
 * running actor's replay with a non-determinism error fails here first, naming the history.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, expect, inject, it } from 'vitest';
import { historyFromJSON } from './history-json';

// The SDK's own INFO lines (replay workers starting and stopping) drown the test output; warnings still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

const WORKFLOW_TYPES = ['campaignWorkflow', 'contactWorkflow', 'eventDeliveryWorkflow', 'sendMessageWorkflow', 'suppressionImportWorkflow'];

interface CorpusEntry {
  /** `<version>/<file>.json`, relative to test/replay/histories */
  file: string;
  history: History;
  workflowId: string;
  workflowType: string;
}

function readCorpus(): CorpusEntry[] {
  const root = path.join(__dirname, 'histories');
  if (!existsSync(root)) return [];
  const versions = readdirSync(root, { withFileTypes: true }).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'));
  return versions
    .flatMap((version) =>
      readdirSync(path.join(root, version.name))
        .filter((name) => name.endsWith('.json'))
        .map((name) => `${version.name}/${name}`),
    )
    .sort()
    .map((file) => {
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(root, file), 'utf8')));
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      // Histories carry no workflow id of their own in the SDK's view; the start event has it, and ledger keys use it.
      return { file, history, workflowId: started?.workflowId || `replay:${file}`, workflowType: started?.workflowType?.name ?? '(no start event)' };
    });
}

const corpus = readCorpus();
/** Each file's replay error; a file missing from the map did not replay at all. */
const outcomes = new Map<string, Error | undefined>();

beforeAll(async () => {
  const options = { workflowBundle: { codePath: inject('workflowBundlePath') } };
  // One replay worker for the whole corpus; if it stops on a history, that history failed and the rest go on.
  let next = 0;
  while (next < corpus.length) {
    const pending = corpus.slice(next);
    try {
      for await (const result of Worker.runReplayHistories(options, pending.map(({ history, workflowId }) => ({ history, workflowId })))) {
        outcomes.set(corpus[next]!.file, result.error);
        next += 1;
      }
      break;
    } catch (error) {
      outcomes.set(corpus[next]!.file, error instanceof Error ? error : new Error(String(error)));
      next += 1;
    }
  }
}, 300_000);

it('the corpus is not empty and covers every workflow type', () => {
  expect(corpus.length).toBeGreaterThan(0);
  expect([...new Set(corpus.map((entry) => entry.workflowType))].sort()).toEqual(WORKFLOW_TYPES);
});

it.each(corpus.map((entry) => [entry.file, entry] as const))('%s replays against the current workflow code', (file, entry) => {
  expect(outcomes.has(file), `${file} was not replayed`).toBe(true);
  const error = outcomes.get(file);
  if (error) throw new Error(`${file} (${entry.workflowType} ${entry.workflowId}) does not replay: ${error.name}: ${error.message}`, { cause: error });
});
