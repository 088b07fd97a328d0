/** Sending the generated requests over real HTTP (node:http, any method and bytes), and reading the processes' memory. */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';

export interface Answer {
  /** 0: no HTTP answer at all (connection reset, timeout) */
  status: number;
  ms: number;
  contentType: string;
  /** the first 2,000 characters of the body */
  snippet: string;
  json: unknown;
  error?: string;
  /** the Retry-After header, in seconds, when the answer had one */
  retryAfter?: number;
}

const MAX_KEPT_BODY = 2_000_000;

export async function sendRequest(
  agent: http.Agent,
  base: URL,
  request: { method: string; url: string; headers: Record<string, string>; body: Buffer | undefined },
  timeoutMs: number,
): Promise<Answer> {
  // A kept-alive connection the server closed as idle just as it was reused never delivered the request: send it
  // again on a new connection (what Node's documentation advises for `reusedSocket`).
  for (let attempt = 1; ; attempt++) {
    const answer = await sendOnce(agent, base, request, timeoutMs);
    if (!answer.reusedSocketReset || attempt >= 3) return answer;
  }
}

function sendOnce(
  agent: http.Agent,
  base: URL,
  request: { method: string; url: string; headers: Record<string, string>; body: Buffer | undefined },
  timeoutMs: number,
): Promise<Answer & { reusedSocketReset?: boolean }> {
  const started = performance.now();
  return new Promise<Answer & { reusedSocketReset?: boolean }>((resolve) => {
    let settled = false;
    let responded = false;
    const finish = (answer: Omit<Answer, 'ms'> & { reusedSocketReset?: boolean }) => {
      if (settled) return;
      settled = true;
      resolve({ ...answer, ms: performance.now() - started });
    };
    let outgoing: http.ClientRequest;
    try {
      outgoing = http.request({
        agent,
        host: base.hostname,
        port: base.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, ...(request.body !== undefined ? { 'content-length': String(request.body.length) } : {}) },
      });
    } catch (error) {
      finish({ status: 0, contentType: '', snippet: '', json: undefined, error: `not sendable: ${(error as Error).message}` });
      return;
    }
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', (error: NodeJS.ErrnoException) =>
      finish({ status: 0, contentType: '', snippet: '', json: undefined, error: error.message, reusedSocketReset: outgoing.reusedSocket && !responded && error.code === 'ECONNRESET' }),
    );
    outgoing.on('response', (response) => {
      responded = true;
      const chunks: Buffer[] = [];
      let kept = 0;
      response.on('data', (chunk: Buffer) => {
        if (kept < MAX_KEPT_BODY) chunks.push(chunk);
        kept += chunk.length;
      });
      response.on('error', (error) => finish({ status: 0, contentType: '', snippet: '', json: undefined, error: `response broken after status ${response.statusCode}: ${error.message}` }));
      response.on('aborted', () => finish({ status: 0, contentType: '', snippet: '', json: undefined, error: `response aborted after status ${response.statusCode}` }));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const contentType = String(response.headers['content-type'] ?? '');
        let json: unknown;
        if (contentType.includes('json')) {
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
        }
        const retryAfter = Number(response.headers['retry-after']);
        finish({ status: response.statusCode ?? 0, contentType, snippet: text.slice(0, 2000), json, ...(Number.isFinite(retryAfter) && response.headers['retry-after'] !== undefined ? { retryAfter } : {}) });
      });
    });
    outgoing.end(request.body);
  });
}

/** Runs `task` over the items with at most `concurrency` at once. */
export async function runBounded<T>(items: T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}

/** Children of a process, from /proc/<pid>/task/<tid>/children. */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * The node process that runs the service: `npm run` starts `tsx`, which starts node with its loader, so it is the
 * deepest node descendant of the npm process.
 */
export function serviceNodePid(npmPid: number): number | undefined {
  let deepest: { pid: number; depth: number } | undefined;
  const walk = (pid: number, depth: number) => {
    for (const child of childrenOf(pid)) {
      if (commOf(child) === 'node' && (!deepest || depth > deepest.depth)) deepest = { pid: child, depth };
      walk(child, depth + 1);
    }
  };
  walk(npmPid, 1);
  return deepest?.pid;
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '(gone)';
  }
}

/** VmRSS of a process in MiB, undefined when it is gone. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
