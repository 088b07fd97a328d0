/**
 * Reads a zod 4 schema into a plain description of its fields (type, bounds, pattern, format, enum values), so the
 * fuzzer's generators follow the API's own schemas: a bound changed in client/schemas.ts moves the boundary values too.
 */
import type { z } from 'zod';

export type Semantic = 'phone' | 'timestamp' | 'date' | 'day-or-timestamp' | 'url' | 'frequency' | 'plain';

export type Spec =
  | { kind: 'string'; semantic: Semantic; min: number; max: number | undefined; pattern: RegExp | undefined; trims: boolean }
  | { kind: 'number'; integer: boolean; min: number | undefined; max: number | undefined; coerce: boolean }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: (string | number)[] }
  | { kind: 'literal'; values: unknown[] }
  | { kind: 'object'; fields: Record<string, Field> }
  | { kind: 'array'; element: Spec; min: number; max: number | undefined }
  | { kind: 'union'; options: Spec[]; discriminator: string | undefined }
  | { kind: 'unknown' };

export interface Field {
  spec: Spec;
  /** may be absent (optional, or has a default) */
  optional: boolean;
  nullable: boolean;
}

interface ZodInternals {
  _zod: { def: Record<string, unknown> & { type: string; checks?: { _zod: { def: Record<string, unknown> } }[] } };
}

/** Field names whose schema checks a timestamp with a custom refinement rather than a zod format. */
const TIMESTAMP_FIELD = /(^at$|At$)/;
/** Date-range filters (the opt-out list's from/to): a day or a timestamp. */
const RANGE_FIELD = /^(from|to)$/;

export interface DescribeOptions {
  /**
   * the edge's phone-number schemas (the strict one, and the inbound door's lenient contact and business number):
   * fields built from any of them are phone numbers, whatever their internals
   */
  phone: z.ZodType | readonly z.ZodType[];
}

export function describeSchema(schema: z.ZodType, options: DescribeOptions, name = ''): Spec {
  return describeField(schema, options, name).spec;
}

function describeField(schema: unknown, options: DescribeOptions, name: string): Field {
  let optional = false;
  let nullable = false;
  let current = schema as ZodInternals;
  for (;;) {
    if ((Array.isArray(options.phone) ? options.phone : [options.phone]).includes(current as unknown as z.ZodType)) return { spec: phoneSpec(), optional, nullable };
    const def = current._zod.def;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault') {
      optional = true;
      current = def.innerType as ZodInternals;
    } else if (def.type === 'nullable') {
      nullable = true;
      current = def.innerType as ZodInternals;
    } else if (def.type === 'readonly' || def.type === 'catch' || def.type === 'nonoptional') {
      current = def.innerType as ZodInternals;
    } else if (def.type === 'pipe') {
      // A transform's input is what the client sends.
      const input = def.in as ZodInternals;
      current = input._zod.def.type === 'transform' ? (def.out as ZodInternals) : input;
    } else if (def.type === 'lazy') {
      current = (def.getter as () => ZodInternals)();
    } else {
      break;
    }
  }
  return { spec: describeLeaf(current, options, name), optional, nullable };
}

function phoneSpec(): Spec {
  return { kind: 'string', semantic: 'phone', min: 1, max: 32, pattern: undefined, trims: true };
}

function describeLeaf(schema: ZodInternals, options: DescribeOptions, name: string): Spec {
  const def = schema._zod.def;
  const checks = (def.checks ?? []).map((check) => check._zod.def);
  switch (def.type) {
    case 'string': {
      let min = 0;
      let max: number | undefined;
      let pattern: RegExp | undefined;
      let format = typeof def.format === 'string' ? def.format : undefined;
      if (format === 'regex' || format === 'datetime' || format === 'date') pattern = def.pattern as RegExp | undefined;
      let trims = false;
      for (const check of checks) {
        if (check.check === 'min_length') min = Math.max(min, check.minimum as number);
        else if (check.check === 'max_length') max = Math.min(max ?? Infinity, check.maximum as number);
        else if (check.check === 'length_equals') min = max = check.length as number;
        else if (check.check === 'overwrite') trims = true;
        else if (check.check === 'string_format') {
          format ??= check.format as string;
          if (check.pattern instanceof RegExp) pattern = check.pattern;
        }
      }
      const semantic: Semantic =
        format === 'datetime'
          ? 'timestamp'
          : format === 'date'
            ? 'date'
            : format === 'url'
              ? 'url'
              : name === 'frequency'
                ? 'frequency'
                : TIMESTAMP_FIELD.test(name) && !pattern
                  ? 'timestamp'
                  : RANGE_FIELD.test(name) && !pattern && checks.some((check) => check.check === 'custom')
                    ? 'day-or-timestamp'
                    : 'plain';
      return { kind: 'string', semantic, min, max, pattern: semantic === 'plain' ? pattern : undefined, trims };
    }
    case 'number': {
      let min: number | undefined;
      let max: number | undefined;
      let integer = false;
      for (const check of checks) {
        if (check.check === 'greater_than') min = (check.value as number) + (check.inclusive ? 0 : 1);
        else if (check.check === 'less_than') max = (check.value as number) - (check.inclusive ? 0 : 1);
        else if (check.check === 'number_format') integer = ['safeint', 'int32', 'uint32'].includes(check.format as string);
      }
      return { kind: 'number', integer, min, max, coerce: def.coerce === true };
    }
    case 'boolean':
      return { kind: 'boolean' };
    case 'enum':
      return { kind: 'enum', values: Object.values(def.entries as Record<string, string | number>) };
    case 'literal':
      return { kind: 'literal', values: def.values as unknown[] };
    case 'object': {
      const shape = def.shape as Record<string, unknown>;
      const fields: Record<string, Field> = {};
      for (const [key, value] of Object.entries(shape)) fields[key] = describeField(value, options, key);
      return { kind: 'object', fields };
    }
    case 'array': {
      let min = 0;
      let max: number | undefined;
      for (const check of checks) {
        if (check.check === 'min_length') min = check.minimum as number;
        else if (check.check === 'max_length') max = check.maximum as number;
      }
      return { kind: 'array', element: describeField(def.element, options, name).spec, min, max };
    }
    case 'union': {
      const unionOptions = (def.options as unknown[]).map((option) => describeField(option, options, name).spec);
      // A union of a timestamp and a day (the opt-out list's from/to) reads as its options.
      return { kind: 'union', options: unionOptions, discriminator: typeof def.discriminator === 'string' ? def.discriminator : undefined };
    }
    default:
      return { kind: 'unknown' };
  }
}

/** Every path to a leaf field of an object spec (nested objects walked; unions by their first object option). */
export function leafPaths(spec: Spec, prefix: string[] = []): { path: string[]; field: Field }[] {
  if (spec.kind !== 'object') return [];
  const paths: { path: string[]; field: Field }[] = [];
  for (const [key, field] of Object.entries(spec.fields)) {
    const path = [...prefix, key];
    paths.push({ path, field });
    if (field.spec.kind === 'object') paths.push(...leafPaths(field.spec, path));
  }
  return paths;
}
