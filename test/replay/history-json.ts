/**
 * Histories as the SDK reads and writes them (`historyToJSON` / `historyFromJSON` of @temporalio/common: the proto
 * JSON that `temporal workflow show --output json` and the Web UI's download hold), written one event a line so a
 * committed history diffs and greps by event at two thirds of the indented size.
 */
import { historyFromJSON, historyToJSON as sdkHistoryToJSON, type History } from '@temporalio/common/lib/proto-utils';

export { historyFromJSON };

export function historyToJSON(history: History): string {
  const { events = [] } = JSON.parse(sdkHistoryToJSON(history)) as { events?: unknown[] };
  return `{"events": [\n${events.map((event) => JSON.stringify(event)).join(',\n')}\n]}\n`;
}
