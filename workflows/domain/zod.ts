/**
 * zod, configured once, for every schema of workflows/domain.
 *
 * The worker preloads this module (the SDK's `preloadModules`): it is evaluated once per worker thread and shared by
 * every workflow execution. Evaluated per execution instead, zod was the largest CPU cost of starting a contact actor
 * and, with a copy in every cached actor, most of the worker's memory (profiled and measured with `npm run bench`).
 * Listed by this path rather than as 'zod', which the bundler dropped (zod's package declares no side effects).
 *
 * The SDK deep-freezes what a shared module exports, so inside workflows:
 * - configure zod here only, before the freeze (`z.config` writes its global);
 * - never use one of zod's own exported patterns (`z.ipv4()`, `z.email()`, `z.httpUrl()`, …): zod writes `lastIndex`
 *   on the pattern at every check, which throws on a frozen one. Pass a copy with `ownPattern`.
 * test/workflows/domain/zod-sandbox.test.ts parses every workflow-side schema inside a real worker to hold this.
 */
import { z } from 'zod';

z.config({
  // A missing field reads "is required" rather than zod's "expected string, received undefined".
  customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined),
  // No parser compiled with `new Function` per object schema: zod caches whether it may on an object the SDK freezes.
  jitless: true,
});

// zod completes its configuration on first use (default locale, memoizer): do that here, before the freeze.
z.object({ warmUp: z.string().min(1) }).safeParse({ warmUp: '' });

/** A copy of one of zod's exported patterns that this schema owns, so zod may reset its `lastIndex`. */
export function ownPattern(pattern: RegExp): RegExp {
  return new RegExp(pattern.source, pattern.flags);
}

export { z };
