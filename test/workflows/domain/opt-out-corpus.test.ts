import { describe, it, expect } from 'vitest';
import { DEFAULT_KEYWORD_SETTINGS, classifyInbound, type InboundClassification } from '../../../workflows/domain/keywords';
import { OPT_OUT_CORPUS, type OptOutCorpusRow } from './opt-out-corpus';

// Issue 14, item 8: the classifier is measured like one. A lost opt-out is a TCPA violation, a false one a lost contact.
const MIN_RECALL = 0.97;
const MIN_PRECISION = 0.99;

interface Reading {
  row: OptOutCorpusRow;
  classification: InboundClassification;
  detected: boolean;
}

function read(row: OptOutCorpusRow): Reading {
  const classification = classifyInbound(row.text, { ...DEFAULT_KEYWORD_SETTINGS, languages: row.languages ?? [] }, 2);
  // Either kind of opt-out ends the sending; which one only changes the evidence recorded.
  return { row, classification, detected: classification.intent === 'opt_out' || classification.intent === 'revocation' };
}

const describeReading = ({ row, classification }: Reading) =>
  `${JSON.stringify(row.text)}${row.languages ? ` [${row.languages.join(',')}]` : ''} -> ${classification.intent} (${JSON.stringify(classification.matched)})`;

describe('the opt-out corpus, read with rules 2', () => {
  const readings = OPT_OUT_CORPUS.map(read);
  const labelled = readings.filter(({ row }) => row.label !== 'review');
  const truePositives = labelled.filter(({ row, detected }) => row.label === 'opt_out' && detected);
  const misses = labelled.filter(({ row, detected }) => row.label === 'opt_out' && !detected);
  const falsePositives = labelled.filter(({ row, detected }) => row.label === 'not_opt_out' && detected);
  const recall = truePositives.length / (truePositives.length + misses.length);
  const precision = truePositives.length / (truePositives.length + falsePositives.length);

  it('has at least 300 texts, at least 40 of them not in English, each with a source', () => {
    expect(OPT_OUT_CORPUS.length).toBeGreaterThanOrEqual(300);
    expect(OPT_OUT_CORPUS.filter((row) => (row.languages ?? []).length > 0).length).toBeGreaterThanOrEqual(40);
    expect(OPT_OUT_CORPUS.filter((row) => row.source.trim() === '').map((row) => row.text)).toEqual([]);
  });

  it(`finds opt-outs with recall of at least ${MIN_RECALL} and precision of at least ${MIN_PRECISION}`, () => {
    console.log(
      [
        `opt-out corpus: ${OPT_OUT_CORPUS.length} texts, ${labelled.length} labelled opt_out/not_opt_out`,
        `recall ${recall.toFixed(4)} (${truePositives.length}/${truePositives.length + misses.length}), precision ${precision.toFixed(4)} (${truePositives.length}/${truePositives.length + falsePositives.length})`,
        `misses (${misses.length}):${misses.map((reading) => `\n  ${describeReading(reading)}`).join('')}`,
        `false positives (${falsePositives.length}):${falsePositives.map((reading) => `\n  ${describeReading(reading)}`).join('')}`,
      ].join('\n'),
    );
    expect(recall, `misses:\n${misses.map(describeReading).join('\n')}`).toBeGreaterThanOrEqual(MIN_RECALL);
    expect(precision, `false positives:\n${falsePositives.map(describeReading).join('\n')}`).toBeGreaterThanOrEqual(MIN_PRECISION);
  });

  it('flags for an operator every text that cannot be told without one', () => {
    const unflagged = readings.filter(({ row, classification }) => row.label === 'review' && classification.intent !== 'needs_review');
    if (unflagged.length > 0) console.log(`review texts not flagged (${unflagged.length}):\n  ${unflagged.map(describeReading).join('\n  ')}`);
    expect(unflagged.map(describeReading)).toEqual([]);
  });
});
