/**
 * The tests' contact numbers (test/support/harness.ts uniquePhone): every file shares one dev server and one database,
 * so a number drawn twice in a run joins two tests in one contact. Each process counts through blocks it claimed.
 */
import { readdirSync } from 'node:fs';
import { expect, inject, it } from 'vitest';
import { isVerifiedNumber } from '../../client/schemas';
import { uniquePhone } from '../support/harness';

it('120,000 numbers in one process: all distinct, valid by the numbering metadata, across every area code, from blocks this process claimed', () => {
  const before = new Set(readdirSync(inject('phoneBlocksDir')));
  const phones = Array.from({ length: 120_000 }, () => uniquePhone());
  expect(new Set(phones).size).toBe(phones.length);
  // Every 97th: the metadata check is the costly part.
  expect(phones.filter((_, i) => i % 97 === 0).filter((phone) => !isVerifiedNumber(phone))).toEqual([]);
  expect(new Set(phones.map((phone) => phone.slice(2, 5)))).toEqual(new Set(['212', '312', '415', '617', '646', '206', '303', '512']));
  // 120,000 numbers from a process that had none: three blocks of 50,000, each newly claimed (no other process has it).
  const claimed = readdirSync(inject('phoneBlocksDir')).filter((block) => !before.has(block));
  expect(claimed.length).toBeGreaterThanOrEqual(3);
});
