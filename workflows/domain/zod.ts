/**
 * zod, configured once. The worker preloads this module (the SDK's `preloadModules`): it is evaluated once per worker
 * thread and shared by every workflow execution, where it used to be evaluated again for each new contact actor
 * (profiled: the largest share of starting one). Listed by path rather than as 'zod' because zod's package declares
 * itself free of side effects and the bundler dropped a bare, unused `require('zod')`. The SDK deep-freezes shared
 * modules, so the configuration must happen here, before the freeze, and nowhere else.
 */
import { z } from 'zod';

z.config({
  // A missing field reads "is required" rather than zod's "expected string, received undefined".
  customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined),
  // No parser compiled with `new Function` per object schema: schemas are built per workflow execution, so every
  // actor would compile its own, and the probe for whether it may caches itself on an object the SDK has frozen.
  jitless: true,
});

// zod finishes configuring itself on first use (default locale, memoizer): do that use here, before the SDK freezes
// the configuration, rather than inside the first workflow to build a schema.
z.object({ warmUp: z.string().min(1) }).safeParse({ warmUp: '' });

export { z };
