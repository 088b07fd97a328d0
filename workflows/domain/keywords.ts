// Reads one inbound SMS and names what it asks for (consent-rules.md §2).
// Imports nothing and uses no clock or randomness: it runs in the Temporal workflow sandbox and at the HTTP edge alike.

export type InboundIntent = 'opt_out' | 'revocation' | 'resubscribe' | 'help' | 'needs_review' | 'message';

export type KeywordLanguage = 'es' | 'fr';

export interface KeywordSettings {
  /** extra opt-out keywords on top of the defaults (defaults can never be removed) */
  optOut: string[];
  resubscribe: string[];
  help: string[];
  /** FCC "reasonable means" revocation phrases; configurable */
  revocationPhrases: string[];
  /** 'phrases' (default) also opts out on revocation phrases; 'strict' = whole-message keywords only */
  mode: 'phrases' | 'strict';
  /** extra languages whose keyword sets are added */
  languages: KeywordLanguage[];
}

// Seed set (STOP … QUIT) plus the Twilio 2025 list and FCC 2024 per-se words (STOPALL … OPT OUT), consent-rules.md §2.
export const DEFAULT_OPT_OUT_KEYWORDS: readonly string[] = Object.freeze([
  'STOP',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'STOPALL',
  'STOP ALL',
  'REVOKE',
  'OPTOUT',
  'OPT OUT',
]);

// Seed set, which is also Twilio's default opt-in list.
export const DEFAULT_RESUBSCRIBE_KEYWORDS: readonly string[] = Object.freeze(['START', 'UNSTOP', 'YES']);

// CTIA handbook: HELP (and INFO) must always get the program's help message.
export const DEFAULT_HELP_KEYWORDS: readonly string[] = Object.freeze(['HELP', 'INFO']);

// FCC 2024 order: consent may be revoked "by any reasonable means"; these are consent-rules.md §2's clear phrasings.
export const DEFAULT_REVOCATION_PHRASES: readonly string[] = Object.freeze([
  'stop texting',
  'stop messaging me',
  'please stop',
  'stop please',
  'opt me out',
  'remove me',
  'unsubscribe me',
  'take me off',
  'wrong number',
  'do not text',
  "don't text",
  'no more texts',
  'no mas',
]);

// Twilio/seed: YES re-subscribes only an opted-out contact; from anyone else it is an ordinary reply.
export const RESUBSCRIBE_ONLY_WHEN_OPTED_OUT: readonly string[] = Object.freeze(['YES']);

// consent-rules.md §2 examples (ALTO, PARAR, CANCELAR; ARRET, AIDE), completed with the plain translations of STOP/START/HELP.
export const LANGUAGE_KEYWORDS: Record<KeywordLanguage, { optOut: string[]; resubscribe: string[]; help: string[] }> = {
  // Spanish: ALTO/PARAR/CANCELAR from §2, DETENER ("stop"), COMENZAR ("start"), AYUDA ("help").
  es: { optOut: ['ALTO', 'PARAR', 'CANCELAR', 'DETENER'], resubscribe: ['COMENZAR'], help: ['AYUDA'] },
  // French: ARRET/AIDE from §2 (ARRÊT matches once accents fold), DESABONNER/DESINSCRIRE ("unsubscribe"), DEMARRER ("start").
  fr: { optOut: ['ARRET', 'DESABONNER', 'DESINSCRIRE'], resubscribe: ['DEMARRER'], help: ['AIDE'] },
};

export const DEFAULT_KEYWORD_SETTINGS: KeywordSettings = {
  optOut: [],
  resubscribe: [],
  help: [],
  revocationPhrases: [...DEFAULT_REVOCATION_PHRASES],
  mode: 'phrases',
  languages: [],
};

export interface InboundClassification {
  intent: InboundIntent;
  /** the normalised text the decision was made on */
  normalised: string;
  /** the keyword or phrase that matched, normalised (null for a plain message) */
  matched: string | null;
  /** true when the intent only applies if the contact is currently opted out (YES) */
  onlyWhenOptedOut: boolean;
}

/** ASCII text and white space: what every Unicode normal form leaves as it is. */
const PLAIN_ASCII = /^[\t\n\r\x20-\x7E]*$/;
// Straight, curly, modifier, prime, grave/acute and full-width apostrophes: "don't" and "don’t" must both read DONT.
const APOSTROPHES = /['\u2018\u2019\u201A\u201B\u02BC\u02BB\u0060\u00B4\u2032\uFF07\uFF40]/gu;

/** NFKC, accents folded (ARRÊT = ARRET), upper-cased, apostrophes removed (don't -> DONT), every other punctuation/symbol/emoji character replaced by a space, white space collapsed and trimmed. */
export function normaliseInboundText(text: string): string {
  // Plain ASCII (nearly every text, and every built-in keyword) is left unchanged by all three Unicode normal forms and
  // has no combining marks, so only the case and separator steps apply: the same result without four Unicode passes.
  if (PLAIN_ASCII.test(text)) {
    return text.replace(APOSTROPHES, '').toUpperCase().replace(/[^A-Z0-9]+/g, ' ').trim();
  }
  return normaliseUnicodeText(text);
}

/** normaliseInboundText without its ASCII shortcut: every step, for any text (exported so a test holds the two equal) */
export function normaliseUnicodeText(text: string): string {
  return (
    text
      // Removed before NFKC, which would turn the acute accent into a space plus a combining mark.
      .replace(APOSTROPHES, '')
      // Full-width and compatibility forms become plain letters: ＳＴＯＰ -> STOP.
      .normalize('NFKC')
      // Upper-cased before folding because upper-casing can itself produce combining accents (ǰ -> J̌).
      .toUpperCase()
      // Split accents off their letters and drop them: ARRÊT -> ARRET.
      .normalize('NFD')
      .replace(/\p{M}+/gu, '')
      // Recompose what NFD split that was not an accent (Hangul syllables), so the text stays readable.
      .normalize('NFC')
      // Punctuation, symbols, emoji and white space all become one word separator.
      .replace(/[^\p{L}\p{N}]+/gu, ' ')
      .trim()
  );
}

/** the keyword sets in force for one account, each entry normalised and de-duplicated */
interface NormalisedKeywordSets {
  optOut: string[];
  resubscribe: string[];
  help: string[];
  onlyWhenOptedOut: string[];
  revocationPhrases: string[];
}

function normalisedList(lists: ReadonlyArray<readonly string[]>): string[] {
  const entries: string[] = [];
  for (const list of lists) {
    for (const entry of list) {
      const normalised = normaliseInboundText(entry);
      // An entry made only of punctuation would normalise to '' and must not match every message.
      if (normalised !== '' && !entries.includes(normalised)) entries.push(normalised);
    }
  }
  return entries;
}

/**
 * Normalised sets by settings: a contact classifies every inbound text against its account's settings, and
 * normalising the hundred-odd keywords again for each text was a measurable share of handling a STOP (profiled).
 * Each inbound signal carries its own copy of the settings, so they are cached by content (an account has one or two
 * in use at a time), not by object; the object cache spares the key for the same object used again.
 */
const keywordSetsByObject = new WeakMap<KeywordSettings, NormalisedKeywordSets>();
const keywordSetsByContent = new Map<string, NormalisedKeywordSets>();
const MAX_CACHED_KEYWORD_SETS = 16;

function keywordSetsFor(settings: KeywordSettings): NormalisedKeywordSets {
  let sets = keywordSetsByObject.get(settings);
  if (sets !== undefined) return sets;
  const key = JSON.stringify([settings.optOut, settings.resubscribe, settings.help, settings.revocationPhrases, settings.languages]);
  sets = keywordSetsByContent.get(key);
  if (sets === undefined) {
    sets = buildKeywordSets(settings);
    if (keywordSetsByContent.size >= MAX_CACHED_KEYWORD_SETS) keywordSetsByContent.delete(keywordSetsByContent.keys().next().value!);
    keywordSetsByContent.set(key, sets);
  }
  keywordSetsByObject.set(settings, sets);
  return sets;
}

/**
 * The account's keyword settings as they travel with each inbound text: only what differs from the defaults, so the
 * default account adds `{}` to a signal. The defaults of consent-rules.md §2 are never in it, and can never be removed.
 */
export type KeywordSettingsChanges = Partial<KeywordSettings>;

/** What an account changed from the defaults (lists empty by default are omitted when empty). */
export function keywordSettingsChanges(settings: KeywordSettings): KeywordSettingsChanges {
  const changes: KeywordSettingsChanges = {};
  if (settings.optOut.length > 0) changes.optOut = [...settings.optOut];
  if (settings.resubscribe.length > 0) changes.resubscribe = [...settings.resubscribe];
  if (settings.help.length > 0) changes.help = [...settings.help];
  if (settings.languages.length > 0) changes.languages = [...settings.languages];
  if (settings.mode !== DEFAULT_KEYWORD_SETTINGS.mode) changes.mode = settings.mode;
  const phrases = settings.revocationPhrases;
  const defaultPhrases = DEFAULT_KEYWORD_SETTINGS.revocationPhrases;
  if (phrases.length !== defaultPhrases.length || phrases.some((phrase, i) => phrase !== defaultPhrases[i])) changes.revocationPhrases = [...phrases];
  return changes;
}

/** The settings in force for a set of changes: every field absent from them is the default. */
export function keywordSettingsFrom(changes: KeywordSettingsChanges): KeywordSettings {
  return { ...DEFAULT_KEYWORD_SETTINGS, ...changes };
}

function buildKeywordSets(settings: KeywordSettings): NormalisedKeywordSets {
  const optOut: Array<readonly string[]> = [DEFAULT_OPT_OUT_KEYWORDS, settings.optOut];
  const resubscribe: Array<readonly string[]> = [DEFAULT_RESUBSCRIBE_KEYWORDS, settings.resubscribe];
  const help: Array<readonly string[]> = [DEFAULT_HELP_KEYWORDS, settings.help];
  for (const language of settings.languages) {
    const languageKeywords = LANGUAGE_KEYWORDS[language];
    // Settings may come from stored JSON: skip a language we have no set for rather than fail the workflow task.
    if (languageKeywords === undefined) continue;
    optOut.push(languageKeywords.optOut);
    resubscribe.push(languageKeywords.resubscribe);
    help.push(languageKeywords.help);
  }
  return {
    optOut: normalisedList(optOut),
    resubscribe: normalisedList(resubscribe),
    help: normalisedList(help),
    onlyWhenOptedOut: normalisedList([RESUBSCRIBE_ONLY_WHEN_OPTED_OUT]),
    revocationPhrases: normalisedList([settings.revocationPhrases]),
  };
}

/** true when `words` occurs in `text` as whole words (both are normalised, so words are separated by single spaces) */
function containsWords(text: string, words: string): boolean {
  return ` ${text} `.includes(` ${words} `);
}

/** classify one inbound text, before knowing the contact's state */
export function classifyInbound(text: string, settings: KeywordSettings = DEFAULT_KEYWORD_SETTINGS): InboundClassification {
  const normalised = normaliseInboundText(text);
  const sets = keywordSetsFor(settings);
  const classification = (intent: InboundIntent, matched: string | null): InboundClassification => ({
    intent,
    normalised,
    matched,
    // A YES in a longer message is flagged too, but only matters (like YES alone) for a contact who is opted out.
    onlyWhenOptedOut:
      (intent === 'resubscribe' || intent === 'needs_review') && matched !== null && sets.onlyWhenOptedOut.includes(matched),
  });

  if (normalised === '') return classification('message', null);

  // A keyword acts only as the whole message (consent-rules.md §2); opt-out wins so a STOP is never read as anything else.
  if (sets.optOut.includes(normalised)) return classification('opt_out', normalised);
  if (sets.help.includes(normalised)) return classification('help', normalised);
  if (sets.resubscribe.includes(normalised)) return classification('resubscribe', normalised);

  // FCC 2024 order: revocation "by any reasonable means"; strict mode limits opt-outs to keywords.
  if (settings.mode !== 'strict') {
    const phrase = sets.revocationPhrases.find((candidate) => containsWords(normalised, candidate));
    if (phrase !== undefined) return classification('revocation', phrase);
  }

  // A keyword inside a longer message may or may not mean it, so an operator looks; HELP/INFO inside a sentence is harmless.
  const keyword =
    sets.optOut.find((candidate) => containsWords(normalised, candidate)) ??
    sets.resubscribe.find((candidate) => containsWords(normalised, candidate));
  if (keyword !== undefined) return classification('needs_review', keyword);

  return classification('message', null);
}

/** the intent that actually applies given the contact's opt-out state: a YES from a contact who is not opted out is an ordinary 'message' */
export function intentFor(classification: InboundClassification, contactOptedOut: boolean): InboundIntent {
  if (classification.onlyWhenOptedOut && !contactOptedOut) return 'message';
  return classification.intent;
}
