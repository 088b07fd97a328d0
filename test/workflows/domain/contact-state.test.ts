/** The state a contact actor starts a run from: typed defaults for every field an older version lacked, and the bounds. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyContactState, keepRecentThreads, settleContactState, type ContactState } from '../../../workflows/domain/contact-state';
import { LEGACY_DEDUPE_WINDOW, MAX_COUNTED_PROGRAMS, MAX_COUNTED_SENDS, MAX_REVIEW_FLAGS, MAX_SENT_MESSAGES, MAX_STATE_TEXT, MAX_THREADS } from '../../../workflows/domain/settings';
import { historyFromJSON } from '../../replay/history-json';

const PHONE = '+14155550100';

/** The state corpus v1 carried into its second run (test/replay/histories/v1), exactly as that version wrote it. */
function v1CarriedState(): Record<string, unknown> {
  const file = path.join(__dirname, '../../replay/histories/v1/continue-as-new.contact.run2.json');
  const history = historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!;
  return JSON.parse(Buffer.from(payload).toString('utf8')).state;
}

/** The first version's shape: no ledger fields, fewer counters, consents with their whole evidence, long lists. */
function firstVersionState(): Record<string, unknown> {
  const consent = { type: 'express', source: 'web_form', businessNumber: null, messageTypes: ['transactional'], grantedAt: '2026-01-01T00:00:00.000Z', evidence: { formUrl: 'https://example.com/form', consentText: 'x'.repeat(2000) } };
  return {
    phone: PHONE,
    optedOut: false,
    optOut: null,
    optOutConfirmed: false,
    consents: [consent, { ...consent, grantedAt: '2026-02-01T00:00:00.000Z' }, { ...consent, messageTypes: ['transactional', 'promotional'], type: 'express_written' }],
    threads: [],
    reviewFlags: Array.from({ length: 50 }, (_, i) => ({ messageId: `SM${i}`, businessNumber: '+14155550199', body: `We have got to STOP ${'this '.repeat(300)}`, matched: 'STOP', receivedAt: '2026-01-01T00:00:00.000Z' })),
    pastOptOuts: [],
    pendingReplies: [],
    recentMessageIds: Array.from({ length: 600 }, (_, i) => `SM${i}`),
    sentMessages: [{ idempotencyKey: 'k1', from: '+14155550199', type: 'promotional', program: null, sentAt: '2026-01-01T00:00:00.000Z' }],
    sendRefusals: [],
    lastInbound: null,
    counts: { inbound: 60, duplicates: 0, optOuts: 0, resubscribes: 0, helpRequests: 0, reviewFlags: 50, repliesSent: 0, repliesFailed: 0 },
  };
}

describe('settleContactState', () => {
  it('gives every counter an older state lacks a number, deeply (no NaN when it is incremented)', () => {
    for (const carried of [v1CarriedState(), firstVersionState()]) {
      const state = settleContactState(PHONE, carried);
      for (const [name, value] of Object.entries(state.counts)) expect(Number.isFinite(value), `counts.${name}`).toBe(true);
      expect(Object.keys(state.counts).sort()).toEqual(Object.keys(emptyContactState(PHONE).counts).sort());
      expect(state.pendingLedger).toEqual([]);
      expect(Number.isFinite(state.ledgerSeq)).toBe(true);
      state.counts.businessMessagesSent += 1;
      expect(Number.isNaN(state.counts.businessMessagesSent)).toBe(false);
    }
  });

  it('keeps what the older version counted, and derives the business-send counter from the sends it kept', () => {
    const v1 = settleContactState(PHONE, v1CarriedState());
    expect(v1.counts).toMatchObject({ inbound: 4, optOuts: 1, helpRequests: 1, repliesSent: 2, businessMessagesSent: 0 });
    expect(v1.optOut).toMatchObject({ source: 'keyword', text: 'STOP' });
    expect(v1.ledgerSeq).toBe(3);
    const first = settleContactState(PHONE, firstVersionState());
    expect(first.counts).toMatchObject({ inbound: 60, reviewFlags: 50, rejectedSignals: 0, consentsRecorded: 0, businessMessagesSent: 1 });
    expect(first.ledgerSeq).toBe(0);
  });

  it('makes the same consent one consent, without its evidence, and keeps the first grant', () => {
    const state = settleContactState(PHONE, firstVersionState());
    expect(state.consents).toEqual([
      { type: 'express', source: 'web_form', businessNumber: null, messageTypes: ['transactional'], program: null, grantedAt: '2026-01-01T00:00:00.000Z' },
      { type: 'express_written', source: 'web_form', businessNumber: null, messageTypes: ['transactional', 'promotional'], program: null, grantedAt: '2026-01-01T00:00:00.000Z' },
    ]);
  });

  it('applies the current bounds to lists an older version let grow', () => {
    const state = settleContactState(PHONE, firstVersionState());
    expect(state.reviewFlags).toHaveLength(MAX_REVIEW_FLAGS);
    expect(state.reviewFlags.at(-1)?.messageId).toBe('SM49');
    for (const flag of state.reviewFlags) expect(flag.body.length).toBeLessThanOrEqual(MAX_STATE_TEXT);
    // Ids are kept up to the largest window any version had; a run of today trims them to its own at the next text.
    expect(state.recentMessageIds).toHaveLength(LEGACY_DEDUPE_WINDOW);
    expect(state.recentMessageIds.at(-1)).toBe('SM599');
  });

  it('replaces values of the wrong type by their default, and keeps fields it does not know', () => {
    const state = settleContactState(PHONE, { optedOut: 'yes', consents: 'none', counts: { inbound: 'many', optOuts: 2 }, reviewFlags: [null, 7], fromTheFuture: { kept: true } });
    expect(state.optedOut).toBe(false);
    expect(state.consents).toEqual([]);
    expect(state.reviewFlags).toEqual([]);
    expect(state.counts.inbound).toBe(0);
    expect(state.counts.optOuts).toBe(2);
    expect((state as ContactState & { fromTheFuture?: unknown }).fromTheFuture).toEqual({ kept: true });
    expect(settleContactState(PHONE, undefined)).toEqual(emptyContactState(PHONE));
  });

  it('a settled state settles to itself', () => {
    for (const carried of [v1CarriedState(), firstVersionState()]) {
      const once = settleContactState(PHONE, carried);
      expect(settleContactState(PHONE, JSON.parse(JSON.stringify(once)))).toEqual(once);
    }
  });

  it('counts a state of before per-program counting from the sends it carried: the newest MAX_COUNTED_SENDS per program', () => {
    const sentMessages = Array.from({ length: 300 }, (_, i) => ({
      idempotencyKey: `k${i}`,
      from: '+14155550199',
      type: i % 3 === 0 ? 'conversational' : 'promotional',
      program: i % 2 === 0 ? 'p' : 'q',
      sentAt: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
    }));
    const state = settleContactState(PHONE, { sentMessages });
    expect(state.sentMessages).toHaveLength(MAX_SENT_MESSAGES);
    expect(state.sentMessages.at(-1)?.idempotencyKey).toBe('k299');
    const business = sentMessages.filter((sent) => sent.type !== 'conversational');
    expect(state.counts.businessMessagesSent).toBe(business.length);
    for (const program of ['p', 'q']) {
      const expected = business.filter((sent) => sent.program === program).map((sent) => sent.sentAt).slice(-MAX_COUNTED_SENDS);
      expect(state.programSends.find((sends) => sends.program === program)?.sentAt).toEqual(expected);
    }
  });
});

describe('settleContactState: carried per-program counts', () => {
  it('keeps the programs sent to last, at most MAX_COUNTED_PROGRAMS, each with its newest MAX_COUNTED_SENDS times', () => {
    const programSends = Array.from({ length: MAX_COUNTED_PROGRAMS + 3 }, (_, i) => ({
      program: `p${i}`,
      sentAt: Array.from({ length: MAX_COUNTED_SENDS + 1 }, (_, j) => new Date(Date.UTC(2026, 0, 1) + j * 60_000).toISOString()),
    }));
    const state = settleContactState(PHONE, { programSends });
    expect(state.programSends).toHaveLength(MAX_COUNTED_PROGRAMS);
    expect(state.programSends[0]?.program).toBe('p3');
    for (const sends of state.programSends) expect(sends.sentAt).toEqual(programSends[0]!.sentAt.slice(1));
  });
});

describe('keepRecentThreads', () => {
  it('drops the least recently active threads beyond MAX_THREADS, and keeps the order they were opened in', () => {
    const threads = Array.from({ length: MAX_THREADS + 5 }, (_, i) => ({
      businessNumber: `+1415555${String(i).padStart(4, '0')}`,
      firstInboundAt: '2026-01-01T00:00:00.000Z',
      // Threads 0–4 were active last, so the five oldest by activity are 5–9.
      lastInboundAt: new Date(Date.UTC(2026, 0, 1, 0, i < 5 ? 500 + i : i)).toISOString(),
      firstMessageId: `SM${i}`,
      inboundCount: 1,
    }));
    const kept = keepRecentThreads(threads);
    expect(kept).toHaveLength(MAX_THREADS);
    expect(kept.map((t) => t.firstMessageId).slice(0, 6)).toEqual(['SM0', 'SM1', 'SM2', 'SM3', 'SM4', 'SM10']);
  });
});
