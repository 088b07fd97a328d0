/**
 * A schema built on first use. The SDK evaluates workflow modules once per workflow execution, and building every
 * zod schema for every new contact actor was the largest CPU cost of starting one (profiled: about a third of the
 * workflow thread's time in a suppression import). A contact uses one or two schemas; the rest are never built.
 */
export function lazySchema<T extends object>(build: () => T): T {
  let built: T | undefined;
  const schema = () => (built ??= build());
  return new Proxy({} as T, {
    get(_target, key) {
      const real = schema();
      const value: unknown = Reflect.get(real, key, real);
      // zod's methods read `this`: bind them to the real schema, not to this stand-in.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
    },
    has: (_target, key) => Reflect.has(schema(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(schema()),
    ownKeys: () => Reflect.ownKeys(schema()),
    getOwnPropertyDescriptor(_target, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(schema(), key);
      // A proxy may not report a non-configurable property its (empty) target lacks.
      return descriptor ? { ...descriptor, configurable: true } : undefined;
    },
  });
}
