/**
 * `historyToJSON` / `historyFromJSON` of @temporalio/common/lib/proto-utils: the same proto JSON (what
 * `temporal workflow show --output json` and the Web UI's download hold), written one event a line so a history diffs
 * and greps by event at two thirds of the indented size. And protobufjs is taken from @temporalio/proto's own copy. In this install @temporalio/common and @temporalio/proto each hold a nested
 * protobufjs 8.8.1 (grpc's proto-loader holds the top-level slot with 7.x), so the SDK's functions throw
 * "type must be a Type" (its protojson checks `instanceof Type` against the other copy). Once package.json lets npm
 * dedupe them, these can go back to the SDK's.
 */
import { createRequire } from 'node:module';
import type { History } from '@temporalio/common/lib/proto-utils';
import type * as Proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

const requireHere = createRequire(__filename);
// The module object itself, as the SDK's proto-utils has it (an ESM namespace of it is not a protobufjs root).
const proto = requireHere('@temporalio/proto') as typeof Proto;
const protojson = createRequire(requireHere.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function historyToJSON(history: History): string {
  const { events = [] } = protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)) as { events?: unknown[] };
  return `{"events": [\n${events.map((event) => JSON.stringify(event)).join(',\n')}\n]}\n`;
}

/** Fields this SDK does not know (a newer server's) are ignored, as the SDK's own reader does. */
export function historyFromJSON(json: unknown): History {
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}
