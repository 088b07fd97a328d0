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
  /** rules 2's tables for these sets, built the first time a text is read with rules 2 */
  rulesV2?: ReadingRulesV2;
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

/**
 * Which rules read an inbound text. Rules 1 is the first version, kept exactly as it was: an actor replaying its history
 * must read each old text as it did then, so the actor picks the version under a `patched()` flag.
 */
export type ClassifierRules = 1 | 2;

/** Rules 2 (issue 14, item 8): a keyword with courtesy words or repeated opts out; a revocation phrase acts only where it revokes. */
export const CURRENT_CLASSIFIER_RULES: ClassifierRules = 2;

/** classify one inbound text, before knowing the contact's state, with the given version of the rules */
export function classifyInbound(
  text: string,
  settings: KeywordSettings = DEFAULT_KEYWORD_SETTINGS,
  rules: ClassifierRules = CURRENT_CLASSIFIER_RULES,
): InboundClassification {
  return rules === 1 ? classifyInboundV1(text, settings) : classifyInboundV2(text, settings);
}

/** How both versions of the rules state their answer for one normalised text. */
function classifier(normalised: string, sets: NormalisedKeywordSets) {
  return (intent: InboundIntent, matched: string | null): InboundClassification => ({
    intent,
    normalised,
    matched,
    // A YES in a longer message is flagged too, but only matters (like YES alone) for a contact who is opted out.
    onlyWhenOptedOut:
      (intent === 'resubscribe' || intent === 'needs_review') && matched !== null && sets.onlyWhenOptedOut.includes(matched),
  });
}

/** rules 1, unchanged since its first histories were written */
function classifyInboundV1(text: string, settings: KeywordSettings): InboundClassification {
  const normalised = normaliseInboundText(text);
  const sets = keywordSetsFor(settings);
  const classification = classifier(normalised, sets);

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

// ---------------------------------------------------------------------------------------------------------------------
// Rules 2. Every table below is written normalised (upper case, no accents, apostrophes dropped: "m'envoyez" is
// MENVOYEZ), because that is the text it is matched against.

/** Words that add nothing to a keyword beside them (consent-rules.md §2: "Stop, thanks"; p2pu#593: "Stop. Thank you" was missed). */
export const COURTESY_WORDS: Readonly<Record<'en' | KeywordLanguage, readonly string[]>> = Object.freeze({
  en: Object.freeze([
    'PLEASE', 'PLS', 'PLZ', 'THANKS', 'THANK YOU', 'THANKS SO MUCH', 'THANK YOU SO MUCH', 'THANK YOU VERY MUCH', 'MANY THANKS',
    'THX', 'TY', 'TYVM', 'OK', 'OKAY', 'K', 'NOW', 'RIGHT NOW', 'ALREADY', 'JUST', 'SORRY', 'BYE', 'GOODBYE', 'YOU', 'ME',
    'LOL', 'SIR', 'MAAM', 'MADAM', 'HI', 'HELLO', 'HEY', 'AND', 'BUT', 'YES', 'YEAH', 'YEP',
  ]),
  es: Object.freeze(['POR FAVOR', 'PORFAVOR', 'PORFA', 'XFA', 'GRACIAS', 'MUCHAS GRACIAS', 'VALE', 'YA', 'HOLA', 'ADIOS', 'PERDON', 'LO SIENTO', 'SENOR', 'SENORA', 'Y', 'SI']),
  fr: Object.freeze(['SVP', 'STP', 'SIL VOUS PLAIT', 'SIL TE PLAIT', 'MERCI', 'MERCI BEAUCOUP', 'BONJOUR', 'SALUT', 'DACCORD', 'PARDON', 'DESOLE', 'DESOLEE', 'AU REVOIR', 'MAINTENANT', 'ET', 'OUI']),
});

/** Words that mean "take me off" as a whole reply though no carrier list has them (AWS: REMOVE; iVIP Mobile: block; es: BAJA). */
export const PLAIN_OPT_OUT_WORDS: Readonly<Record<'en' | KeywordLanguage, readonly string[]>> = Object.freeze({
  en: Object.freeze(['REMOVE', 'UNSUB', 'BLOCK']),
  es: Object.freeze(['BAJA', 'DESUSCRIBIR', 'DESUSCRIBIRME']),
  fr: Object.freeze(['DESABONNEMENT', 'DESINSCRIPTION', 'ARRETER', 'ARRETEZ']),
});

/**
 * Keywords also read through one slip of the thumb (Braze fuzzy opt-out: "Stpo", "stopppp"): two letters swapped, a
 * letter repeated, or (eight letters and more) one letter missing. English FCC and carrier words only: none of their
 * slips is a word, while ALTO and PARAR have real words one swap away (ALOT, PARRA) and END has NED.
 */
export const TYPO_TOLERANT_OPT_OUT_KEYWORDS: readonly string[] = Object.freeze(['STOP', 'STOPALL', 'QUIT', 'CANCEL', 'REVOKE', 'OPTOUT', 'UNSUBSCRIBE']);

/**
 * Word lists the patterns below name as {LIST}. A pattern is words separated by spaces, where (A|B) is one of A or B,
 * [A|B] is one of them or nothing, {LIST} any entry of a list, * any one word and $ the end of the message.
 */
export const PATTERN_WORD_LISTS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  // What people call the texts they no longer want.
  MESSAGES: Object.freeze([
    'TEXTS', 'TEXT', 'TEXT MESSAGES', 'TEXT MESSAGE', 'TXTS', 'TXT', 'MESSAGES', 'MESSAGE', 'MSGS', 'MSG', 'SMS', 'NOTIFICATIONS',
    'ALERTS', 'TEXT ALERTS', 'SMS ALERTS', 'REMINDERS', 'PROMOS', 'PROMOTIONS', 'ADS', 'SPAM', 'CALLS', 'COMMUNICATION',
    'COMMUNICATIONS', 'TEXTING', 'MESSAGING', 'SUBSCRIPTION', 'SUBSCRIPTIONS',
  ]),
  // Which of them: "stop the texts", "no more of these", "cancel my subscription".
  WHICH: Object.freeze([
    'THE', 'THESE', 'THIS', 'THOSE', 'ALL', 'ALL THE', 'ALL THESE', 'ALL THIS', 'ALL YOUR', 'ALL OF THE', 'ALL OF THESE',
    'ALL OF YOUR', 'YOUR', 'UR', 'MY', 'ANY', 'ANY MORE', 'ANYMORE', 'MORE',
  ]),
  // What the sender does that should stop.
  CONTACTING: Object.freeze([
    'TEXTING', 'TXTING', 'TEXTIN', 'MESSAGING', 'MSGING', 'CONTACTING', 'CALLING', 'SPAMMING', 'BOTHERING',
    'HARASSING', 'EMAILING', 'PESTERING', 'BLOWING UP MY PHONE',
  ]),
  // Said in anger, between "stop" and what should stop (Postscript: "stop f***ing texting").
  CURSING: Object.freeze(['FUCKING', 'FUCKIN', 'FREAKING', 'FREAKIN', 'FRICKING', 'FRIGGING', 'EFFING', 'DAMN', 'GODDAMN', 'BLOODY']),
  CONSENT: Object.freeze(['CONSENT', 'PERMISSION', 'AUTHORIZATION', 'AUTHORISATION']),
  // The contact's details a sender keeps (Spoke: "lose my number", "delete my number", "remove my name").
  DETAILS: Object.freeze([
    'NUMBER', 'PHONE NUMBER', 'CELL NUMBER', 'MOBILE NUMBER', 'CELL PHONE NUMBER', 'PHONE', 'CELL', 'NAME', 'INFO', 'INFORMATION', 'DETAILS', 'CONTACT INFO',
  ]),
  ES_MESSAGES: Object.freeze(['MENSAJES', 'MENSAJE', 'SMS', 'TEXTOS', 'MSJ', 'MSJS', 'MENSAJITOS', 'NOTIFICACIONES', 'ALERTAS', 'PROMOCIONES', 'RECORDATORIOS', 'LLAMADAS']),
  ES_WHICH: Object.freeze(['LOS', 'LAS', 'ESTOS', 'ESTAS', 'ESOS', 'ESAS', 'SUS', 'TUS', 'MAS']),
  FR_MESSAGES: Object.freeze(['SMS', 'MESSAGES', 'MESSAGE', 'TEXTOS', 'NOTIFICATIONS', 'ALERTES', 'PUBS', 'PUBLICITES', 'PROMOS', 'APPELS']),
  FR_WHICH: Object.freeze(['LES', 'VOS', 'TES', 'CES', 'DES', 'DE', 'TOUS LES', 'TOUS VOS']),
});

/**
 * Phrases that revoke consent wherever they stand (FCC 24-24: consent may be revoked "in any reasonable manner"), unless
 * NOT_REVOKING_CONTEXTS covers them or a negation stands just before them. Written from the replies in the opt-out corpus's
 * sources (Postscript, Text-Em-All, Spoke, Klaviyo, Ushur). The account's own revocation phrases are added to these.
 */
export const REVOCATION_PATTERNS: Readonly<Record<'en' | KeywordLanguage, readonly string[]>> = Object.freeze({
  en: Object.freeze([
    // A per-se word with what it stops: the texts, or the sending of them.
    'STOP [{CURSING}] {CONTACTING}',
    // Sending what: "stop sending me promos", "stop sending these", not "stop sending the paper bill".
    'STOP [{CURSING}] SENDING (ME|US|THESE|THEM|THOSE|THIS|$)',
    'STOP [{CURSING}] SENDING [{WHICH}] {MESSAGES}',
    'STOP [{CURSING}] [{WHICH}] {MESSAGES}',
    'STOP IT WITH [{WHICH}] {MESSAGES}',
    'STOP (RECEIVING|GETTING) [{WHICH}] {MESSAGES}',
    'STOP (RECEIVING|GETTING) (THESE|THEM|THOSE|THIS)',
    'QUIT [{CURSING}] {CONTACTING}',
    'QUIT [{CURSING}] SENDING (ME|US|THESE|THEM|THOSE|THIS|$)',
    'QUIT [{WHICH}] {MESSAGES}',
    'END [{WHICH}] {MESSAGES}',
    'CANCEL [{WHICH}] {MESSAGES}',
    'ENOUGH [WITH] [{WHICH}] {MESSAGES}',
    'NO MORE [{CURSING}] {MESSAGES}',
    // consent-rules.md §2's "please stop" and "stop please", in a longer message ("Please stop, I'm not interested").
    'PLEASE STOP',
    'STOP PLEASE',
    '(I|WE) (SAID|TOLD YOU|TOLD YOU TO|ASKED YOU TO|ALREADY SAID) (STOP|UNSUBSCRIBE|REMOVE ME|QUIT|CANCEL|END)',
    // Spoke: people reply with the instruction they were sent.
    'STOP (TO|2) QUIT',
    'STOP2QUIT',
    'STOPTOQUIT',
    // Words that only ever mean leaving the list (the FCC's "opt out" and "unsubscribe" inside a sentence).
    'UNSUBSCRIBE',
    'UNSUB',
    'OPTOUT',
    'OPT OUT',
    'OPTING OUT',
    'OPT (ME|US|MY NUMBER|THIS NUMBER) OUT',
    'STOPALL',
    '(I|ALREADY) (OPTED OUT|UNSUBSCRIBED|UNSUBBED)',
    '(REVOKE|WITHDRAW|RESCIND) [MY|ALL] {CONSENT}',
    '(I|WE) (REVOKE|WITHDRAW)',
    '(DO NOT|DONT) (CONSENT|AGREE) TO',
    '(DO NOT|DONT) HAVE MY {CONSENT}',
    // The list and the number (Spoke's regex, Text-Em-All, Postscript).
    '(REMOVE|DELETE|ERASE) (ME|US|MY {DETAILS}|THIS {DETAILS})',
    '(TAKE|GET) (ME|US|MY {DETAILS}|THIS {DETAILS}) OFF',
    '(WANT|WANNA|GET) OFF [OF] (THIS|YOUR|THE|UR|ALL) [TEXT|TEXTING|SMS|MAILING|CONTACT] (LIST|LISTS)',
    'LOSE (MY|THIS) {DETAILS}',
    '(WRONG|INCORRECT) (NUMBER|PERSON)',
    // A reassigned number: the person who agreed is not the one reading.
    '(THIS|THIS PHONE) (ISNT|IS NOT|IS NO LONGER) MY (NUMBER|PHONE)',
    'NO LONGER MY NUMBER',
    // Do not / never contact me.
    '(DO NOT|DONT) [EVER] (TEXT|TXT|MESSAGE|MSG|CONTACT|SMS)',
    '(DO NOT|DONT) [EVER] (CALL OR TEXT|TEXT OR CALL)',
    '(DO NOT|DONT) [EVER] CALL [ME|US|THIS NUMBER] [AGAIN] [PLEASE|THANKS|THANK YOU] $',
    '(DO NOT|DONT) (CALL|TEXT|CONTACT) LIST',
    '(DO NOT|DONT) [EVER] SEND ME [{WHICH}] {MESSAGES}',
    '(DO NOT|DONT) [EVER] SEND ME ANYTHING',
    'NEVER (TEXT|TXT|MESSAGE|CONTACT|CALL) (ME|US|THIS NUMBER)',
    '(DONT|DO NOT|NO LONGER|DONT EVER|NEVER) (WANT|WISH|NEED) [TO] [RECEIVE|GET|KEEP GETTING|KEEP RECEIVING] [{WHICH}] {MESSAGES}',
    '(DONT|DO NOT|NO LONGER) (WANT|WISH) TO BE (CONTACTED|TEXTED|MESSAGED)',
    '(I|WE) [HAVE] NEVER (SIGNED UP|SUBSCRIBED|OPTED IN)',
    '(DIDNT|DID NOT|NEVER) (SIGN|SIGNED) UP FOR (THIS|THESE|THAT|YOUR|ANY|IT)',
    'NEVER GAVE YOU [MY] (NUMBER|PERMISSION|CONSENT)',
    // Braze fuzzy opt-out and Postscript: hostile replies leave no other reading.
    'LEAVE (ME|US) ALONE',
    '(FUCK|PISS|BUZZ) OFF',
  ]),
  es: Object.freeze([
    '(DEJA|DEJEN|DEJE|DEJAR) DE (ENVIARME|MANDARME|ESCRIBIRME|CONTACTARME|LLAMARME|ENVIAR|MANDAR)',
    'NO ME (ENVIEN|MANDEN|ENVIES|MANDES|ESCRIBAN|ESCRIBAS|CONTACTEN|LLAMEN|MOLESTEN)',
    'NO QUIERO (RECIBIR|MAS) [MAS] [{ES_WHICH}] {ES_MESSAGES}',
    'NO MAS [{ES_WHICH}] {ES_MESSAGES}',
    '(NUMERO|NUM) EQUIVOCADO',
    'PERSONA EQUIVOCADA',
    '(QUITENME|QUITAME|QUITEME|SAQUENME|SACAME|BORRENME|BORRAME|ELIMINENME|ELIMINAME) DE (LA|SU|TU|ESTA|SUS|TUS) (LISTA|LISTAS|BASE DE DATOS)',
    '(BORREN|BORRA|BORRAR|ELIMINEN|ELIMINA|ELIMINAR|QUITEN) MI (NUMERO|TELEFONO|CELULAR)',
    '(DAME|DENME|DARME|DARSE|DAR|ME DOY) DE BAJA',
    'DESUSCRIBIR',
    'DESUSCRIBIRME',
    'DESUSCRIBANME',
    'CANCELAR [MI|LA] SUSCRIPCION',
    '(CANCELAR|PARAR|DETENER) [{ES_WHICH}] {ES_MESSAGES}',
    '(DEJENME|DEJAME|DEJEME) EN PAZ',
  ]),
  fr: Object.freeze([
    '(NE|N) (MENVOYEZ|MENVOIE|MENVOIES|ME CONTACTEZ|ME TEXTEZ|MECRIVEZ) PLUS',
    'NENVOYEZ PLUS',
    '(ARRETEZ|ARRETE|ARRETER|CESSEZ) (DE MENVOYER|DENVOYER|DE ME CONTACTER|DE MECRIRE|DE ME TEXTER|DE ME DERANGER|{FR_WHICH} {FR_MESSAGES})',
    '(JE NE VEUX PLUS|JE NE SOUHAITE PLUS|JE VEUX PLUS) (RECEVOIR|ETRE CONTACTE|ETRE CONTACTEE)',
    'JE NE VEUX PLUS [DE] [{FR_WHICH}] {FR_MESSAGES}',
    'NE PLUS (MENVOYER|ME CONTACTER|MECRIRE|ME TEXTER)',
    'PLUS DE {FR_MESSAGES}',
    '(MAUVAIS|FAUX) NUMERO',
    'ERREUR DE NUMERO',
    'MAUVAISE PERSONNE',
    '(RETIREZ|SUPPRIMEZ|ENLEVEZ|EFFACEZ|RAYEZ) (MOI|MON NUMERO)',
    '(DESABONNEZ|DESINSCRIVEZ) MOI',
    'ME (DESABONNER|DESINSCRIRE)',
    'DESABONNER',
    'DESINSCRIRE',
    'DESABONNEMENT',
    'DESINSCRIPTION',
    '(LAISSEZ|LAISSE) MOI TRANQUILLE',
    '(FICHEZ|FOUTEZ) MOI LA PAIX',
  ]),
});

/**
 * Where a revocation phrase (built-in or the account's) means something else: a phrase overlapping one of these does
 * not revoke, unless the phrase takes in the whole context and says more ("stop it" is not, "stop it with the texts" is). The look-alikes in the opt-out corpus: "stop by", "can't stop", "remove me from the meeting", "wrong
 * number of items", "don't text while driving", "no más de dos".
 */
export const NOT_REVOKING_CONTEXTS: readonly string[] = Object.freeze([
  // Stop as in visiting, or as a place.
  'STOP (BY|IN|AT|OVER|ON BY|AROUND|INTO|IT)',
  '(BUS|NEXT|LAST|PIT|TRUCK|REST|ONE|FIRST|FINAL|TRAIN|TRAM) STOP',
  'NON STOP',
  'STOP (SIGN|SIGNS|LIGHT|LIGHTS|LOSS|WATCH)',
  '(CANT|CANNOT|COULDNT) STOP',
  // Cancel, end, quit, remove, take off: something other than the texts.
  'CANCEL (MY|THE|THIS|THAT|OUR|YOUR) [*] (APPOINTMENT|APPT|ORDER|RESERVATION|BOOKING|FLIGHT|CLASS|VISIT|SESSION|MEETING|TABLE|RIDE|DELIVERY|PICKUP|MEMBERSHIP|PLAN|CARD)',
  '(END|ENDS|ENDING) OF',
  'THE END',
  'QUIT (MY|THE|THIS) (JOB|JOBS|GYM|TEAM|CLASS)',
  'QUIT (SMOKING|DRINKING|VAPING)',
  'REMOVE ME AS',
  '(OPT OUT|OPTING OUT) OF (THE|THIS|THAT|MY) [*] (RAFFLE|CONTEST|GIVEAWAY|DRAWING|SURVEY|EVENT|TRIP|CLASS|COURSE|INSURANCE|PLAN|WARRANTY)',
  '(REMOVE|TAKE) ME (FROM|OFF) (THE|THAT|THIS|MY|OUR|YOUR) [*] (MEETING|CALL|APPOINTMENT|WAITLIST|WAIT LIST|CLASS|EVENT|INVITE|INVITATION|CALENDAR|SCHEDULE|ROSTER|SHIFT|REGISTRATION|ORDER|RESERVATION|BOOKING|TEAM|PROJECT|CASE|ACCOUNT)',
  // A wrong number that is not this one.
  'WRONG NUMBER (OF|ON|IN|FOR)',
  '(DIALED|DIALLED|CALLED|TEXTED|ENTERED|TYPED|GAVE YOU|PUT|WROTE) THE WRONG NUMBER',
  // The sender's own instruction quoted back ("what does reply STOP to unsubscribe mean?"): the keyword inside is for an operator.
  '(REPLY|REPLYING|TEXT|SEND|RESPOND) [WITH] [*] (TO|2) (UNSUBSCRIBE|UNSUB|OPT OUT|OPTOUT|STOP|QUIT|CANCEL|END)',
  // Limits and advice, not revocations: "no more texts after 9pm", "don't text while driving".
  '({MESSAGES}|{CONTACTING}) [ME|US] (AFTER|BEFORE|UNTIL|DURING|BETWEEN|TODAY|TONIGHT|AT NIGHT|AT WORK|ON WEEKENDS)',
  '(DONT|DO NOT) TEXT (WHILE|AND DRIVE|AND DRIVING)',
  '(DONT|DO NOT) [EVER] (TEXT|MESSAGE|CONTACT|CALL) [ME|US] (BEFORE|AFTER|UNTIL|DURING|BETWEEN|WHILE|TODAY|TONIGHT|AT NIGHT|AT WORK|ON WEEKENDS)',
  '(DONT|DO NOT) (CALL|TEXT) [ME] [JUST] (TEXT|CALL|EMAIL)',
  '(UNSUBSCRIBED|OPTED OUT|UNSUBBED) (BY MISTAKE|BY ACCIDENT|ACCIDENTALLY)',
  'UNSUBSCRIBE [ME] FROM [THE|YOUR|ALL] (EMAIL|EMAILS|NEWSLETTER|NEWSLETTERS|EMAIL LIST|MAILING LIST)',
  // Spanish "no más" of the default phrases, in "no más de dos", "no más tarde".
  'NO MAS (DE|QUE|TARDE)',
]);

/** A revocation phrase right after one of these is denied, not said ("don't remove me", "never stop texting me these deals"). */
export const REVOCATION_NEGATIONS: readonly string[] = Object.freeze(['DONT', 'DO NOT', 'NOT', 'NEVER', 'DIDNT', 'DID NOT', 'DOESNT', 'DOES NOT']);

/** Said beside an opt-out keyword, these leave no other reading of it ("Not interested. Stop.", "STOP. I don't know you."). */
export const OPT_OUT_REINFORCERS: readonly string[] = Object.freeze([
  'NOT INTERESTED',
  'NO LONGER INTERESTED',
  '(DONT|DO NOT) KNOW YOU',
  'WHO (IS THIS|ARE YOU)',
  '(I|IVE) MOVED',
  '(IM|I AM) DONE',
]);

/** Complaints and pauses without a keyword: not revocations by themselves, but an operator should read them (FCC: totality of the circumstances). */
export const REVIEW_PATTERNS: Readonly<Record<'en' | KeywordLanguage, readonly string[]>> = Object.freeze({
  en: Object.freeze([
    'NOT INTERESTED',
    '(WHO|WHERE) (GAVE YOU|DID YOU GET) MY NUMBER',
    'HOW DID YOU GET MY NUMBER',
    'WHY (ARE YOU|DO YOU KEEP|DOES THIS NUMBER KEEP) (TEXTING|MESSAGING|CONTACTING)',
    'WHY DO I KEEP GETTING',
    '(PAUSE|SNOOZE)',
  ]),
  es: Object.freeze(['NO ME INTERESA', 'NO ESTOY INTERESADO', 'NO ESTOY INTERESADA', 'QUIEN LE DIO MI NUMERO', 'QUIEN TE DIO MI NUMERO']),
  fr: Object.freeze(['PAS INTERESSE', 'PAS INTERESSEE', 'CA NE MINTERESSE PAS', 'QUI VOUS A DONNE MON NUMERO']),
});

/** One position of a pattern: alternatives of one or more words, any one word, or (alone or as an alternative) the end of the message. */
interface PatternSlot {
  options: string[][];
  optional: boolean;
  anyWord: boolean;
  end: boolean;
}

/** Patterns by the first word of their first slot, so a text is only tried against patterns that can start at each word. */
type PatternIndex = Map<string, PatternSlot[][]>;

/** One unit of a keyword-and-courtesy reply: a keyword, a plain opt-out word, or a courtesy word. */
interface ReplyUnit {
  words: string[];
  kind: 'optOut' | 'plainOptOut' | 'help' | 'resubscribe' | 'courtesy';
  text: string;
}

/** Rules 2's tables for one account's keyword sets, built once per set (like the sets themselves). */
interface ReadingRulesV2 {
  /** reply units by first word, longest first */
  units: Map<string, ReplyUnit[]>;
  /** a slipped spelling of a typo-tolerant keyword, to the keyword */
  typos: Map<string, string>;
  /** a typo-tolerant keyword with repeated letters collapsed (STOPPP -> STOP), to the keyword */
  collapsedTypos: Map<string, string>;
  revocations: PatternIndex;
  notRevoking: PatternIndex;
  negations: string[][];
  reinforcers: PatternIndex;
  review: PatternIndex;
}

function compilePattern(pattern: string): PatternSlot[] {
  const slots: PatternSlot[] = [];
  for (const element of pattern.match(/\([^)]*\)|\[[^\]]*\]|\S+/g) ?? []) {
    const optional = element.startsWith('[');
    const body = optional || element.startsWith('(') ? element.slice(1, -1) : element;
    if (body === '*' || body === '$') {
      slots.push({ options: [], optional, anyWord: body === '*', end: body === '$' });
      continue;
    }
    const alternatives = body.split('|');
    const options = alternatives.filter((alternative) => alternative !== '$').flatMap((alternative) => expandAlternative(alternative, pattern));
    slots.push({ options, optional, anyWord: false, end: alternatives.includes('$') });
  }
  return slots;
}

/** an alternative's word sequences: each {LIST} in it stands for every entry of the list ("MY {DETAILS}": MY NUMBER, MY PHONE …) */
function expandAlternative(alternative: string, pattern: string): string[][] {
  let sequences: string[][] = [[]];
  for (const word of alternative.split(' ')) {
    const listName = /^\{(\w+)\}$/.exec(word)?.[1];
    const list = listName === undefined ? [word] : PATTERN_WORD_LISTS[listName];
    if (list === undefined) throw new Error(`pattern ${pattern} names an unknown word list ${word}`);
    sequences = sequences.flatMap((sequence) => list.map((entry) => [...sequence, ...entry.split(' ')]));
  }
  return sequences;
}

function indexPatterns(patterns: Iterable<PatternSlot[]>): PatternIndex {
  const index: PatternIndex = new Map();
  for (const slots of patterns) {
    const first = slots[0];
    // Every pattern starts with a word, so it can be looked up by the word it starts at.
    if (first === undefined || first.optional || first.anyWord || first.end) throw new Error('a pattern must start with words');
    for (const option of first.options) {
      const word = option[0]!;
      const candidates = index.get(word);
      if (candidates === undefined) index.set(word, [slots]);
      else if (!candidates.includes(slots)) candidates.push(slots);
    }
  }
  return index;
}

/** a literal phrase (an account's revocation phrase, already normalised) as a pattern */
function literalPattern(phrase: string): PatternSlot[] {
  return phrase.split(' ').map((word) => ({ options: [[word]], optional: false, anyWord: false, end: false }));
}

function wordsAt(tokens: readonly string[], at: number, words: readonly string[]): boolean {
  if (at + words.length > tokens.length) return false;
  for (let i = 0; i < words.length; i++) if (tokens[at + i] !== words[i]) return false;
  return true;
}

/** the end of the longest match of `slots` from `slot` on, starting at word `at`, or -1 */
function matchSlots(tokens: readonly string[], at: number, slots: readonly PatternSlot[], slot: number): number {
  if (slot === slots.length) return at;
  const { options, optional, anyWord, end } = slots[slot]!;
  let longest = optional || (end && at === tokens.length) ? matchSlots(tokens, at, slots, slot + 1) : -1;
  if (anyWord) return at < tokens.length ? Math.max(longest, matchSlots(tokens, at + 1, slots, slot + 1)) : longest;
  for (const option of options) {
    if (wordsAt(tokens, at, option)) longest = Math.max(longest, matchSlots(tokens, at + option.length, slots, slot + 1));
  }
  return longest;
}

/** where a pattern of the index matches, earliest first and longest at that start, skipping matches `rejected` refuses */
function findPattern(
  tokens: readonly string[],
  index: PatternIndex,
  rejected: (start: number, end: number) => boolean = () => false,
): { start: number; end: number } | null {
  for (let start = 0; start < tokens.length; start++) {
    const candidates = index.get(tokens[start]!);
    if (candidates === undefined) continue;
    let end = -1;
    for (const slots of candidates) {
      const candidateEnd = matchSlots(tokens, start, slots, 0);
      if (candidateEnd > end && !rejected(start, candidateEnd)) end = candidateEnd;
    }
    if (end > start) return { start, end };
  }
  return null;
}

/** every stretch of the text that a pattern of the index covers */
function coveredSpans(tokens: readonly string[], index: PatternIndex): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (let start = 0; start < tokens.length; start++) {
    for (const slots of index.get(tokens[start]!) ?? []) {
      const end = matchSlots(tokens, start, slots, 0);
      if (end > start) spans.push([start, end]);
    }
  }
  return spans;
}

/** the word with every run of one letter collapsed to one letter (STOPPPP -> STOP) */
function collapseRepeats(word: string): string {
  return word.replace(/(.)\1+/g, '$1');
}

function typoSpellings(keyword: string): string[] {
  const spellings: string[] = [];
  // Two neighbouring letters swapped: STPO, SOTP, CANCLE.
  if (keyword.length >= 4) {
    for (let i = 0; i + 1 < keyword.length; i++) spellings.push(keyword.slice(0, i) + keyword[i + 1] + keyword[i] + keyword.slice(i + 2));
  }
  // One letter missing, only in long words where the rest still says it: UNSUSCRIBE, UNSUBCRIBE.
  if (keyword.length >= 8) {
    for (let i = 0; i < keyword.length; i++) spellings.push(keyword.slice(0, i) + keyword.slice(i + 1));
  }
  return spellings.filter((spelling) => spelling !== keyword);
}

function buildReadingRulesV2(sets: NormalisedKeywordSets, settings: KeywordSettings): ReadingRulesV2 {
  const languages: Array<'en' | KeywordLanguage> = ['en'];
  // Settings may come from stored JSON: a language with no tables is skipped, as buildKeywordSets does.
  for (const language of settings.languages) if (LANGUAGE_KEYWORDS[language] !== undefined && !languages.includes(language)) languages.push(language);

  const units = new Map<string, ReplyUnit[]>();
  const addUnits = (entries: readonly string[], kind: ReplyUnit['kind']) => {
    for (const text of entries) {
      const words = text.split(' ');
      const sameFirst = units.get(words[0]!) ?? [];
      // The first kind given a phrase keeps it: keywords are added before courtesy words.
      if (sameFirst.some((unit) => unit.text === text)) continue;
      sameFirst.push({ words, kind, text });
      sameFirst.sort((a, b) => b.words.length - a.words.length);
      units.set(words[0]!, sameFirst);
    }
  };
  addUnits(sets.optOut, 'optOut');
  addUnits(normalisedList(languages.map((language) => PLAIN_OPT_OUT_WORDS[language])), 'plainOptOut');
  addUnits(sets.help, 'help');
  // YES is not a keyword here, only a courtesy word ("Yes stop"): "Yes please" from an opted-out contact stays for an
  // operator, since re-subscribing on a guess sends to someone who may have revoked.
  addUnits(sets.resubscribe.filter((keyword) => !sets.onlyWhenOptedOut.includes(keyword)), 'resubscribe');
  addUnits(normalisedList(languages.map((language) => COURTESY_WORDS[language])), 'courtesy');

  const typos = new Map<string, string>();
  const collapsedTypos = new Map<string, string>();
  for (const keyword of TYPO_TOLERANT_OPT_OUT_KEYWORDS) {
    collapsedTypos.set(collapseRepeats(keyword), keyword);
    for (const spelling of typoSpellings(keyword)) if (!typos.has(spelling)) typos.set(spelling, keyword);
  }

  const revocations = languages.flatMap((language) => REVOCATION_PATTERNS[language].map(compilePattern));
  // The account's phrases revoke too, with the same contexts and negations as the built-in ones.
  for (const phrase of sets.revocationPhrases) revocations.push(literalPattern(phrase));

  return {
    units,
    typos,
    collapsedTypos,
    revocations: indexPatterns(revocations),
    notRevoking: indexPatterns(NOT_REVOKING_CONTEXTS.map(compilePattern)),
    negations: REVOCATION_NEGATIONS.map((negation) => negation.split(' ')),
    reinforcers: indexPatterns(OPT_OUT_REINFORCERS.map(compilePattern)),
    review: indexPatterns(languages.flatMap((language) => REVIEW_PATTERNS[language].map(compilePattern))),
  };
}

function readingRulesV2For(sets: NormalisedKeywordSets, settings: KeywordSettings): ReadingRulesV2 {
  // The sets are cached by content that includes the languages, so the tables built for them fit every settings object mapped to them.
  sets.rulesV2 ??= buildReadingRulesV2(sets, settings);
  return sets.rulesV2;
}

/** the keyword a slipped spelling stands for, or undefined */
function typoKeyword(word: string, rules: ReadingRulesV2): string | undefined {
  const swapped = rules.typos.get(word);
  if (swapped !== undefined) return swapped;
  const collapsed = collapseRepeats(word);
  return collapsed === word ? undefined : rules.collapsedTypos.get(collapsed);
}

/**
 * A reply made only of keywords and courtesy words ("STOP please", "stop stop stop", "Help?", "Start thanks"): read as
 * its keyword. Opt-out wins over everything; a plain opt-out word or a slipped keyword is a revocation; help and
 * re-subscribe act only alone, since "START HELP" asks two things. Strict mode takes only the keywords themselves.
 */
function readKeywordsWithCourtesy(
  tokens: readonly string[],
  rules: ReadingRulesV2,
  strict: boolean,
): { intent: 'opt_out' | 'revocation' | 'help' | 'resubscribe'; matched: string } | null {
  let optOut: string | undefined;
  let plainOptOut: string | undefined;
  let help: string | undefined;
  let resubscribe: string | undefined;
  for (let at = 0; at < tokens.length; ) {
    const unit = rules.units.get(tokens[at]!)?.find((candidate) => wordsAt(tokens, at, candidate.words));
    if (unit !== undefined && !(strict && unit.kind === 'plainOptOut')) {
      if (unit.kind === 'optOut') optOut ??= unit.text;
      else if (unit.kind === 'plainOptOut') plainOptOut ??= unit.text;
      else if (unit.kind === 'help') help ??= unit.text;
      else if (unit.kind === 'resubscribe') resubscribe ??= unit.text;
      at += unit.words.length;
      continue;
    }
    const slipped = strict ? undefined : typoKeyword(tokens[at]!, rules);
    if (slipped === undefined) return null;
    plainOptOut ??= slipped;
    at += 1;
  }
  if (optOut !== undefined) return { intent: 'opt_out', matched: optOut };
  if (plainOptOut !== undefined) return { intent: 'revocation', matched: plainOptOut };
  if (help !== undefined && resubscribe === undefined) return { intent: 'help', matched: help };
  if (resubscribe !== undefined && help === undefined) return { intent: 'resubscribe', matched: resubscribe };
  return null;
}

/** "S T O P" and "S.T.O.P." as the word they spell, when every word is one letter */
function spelledOut(tokens: readonly string[]): string | null {
  return tokens.length >= 2 && tokens.every((token) => token.length === 1) ? tokens.join('') : null;
}

/** rules 2: see consent-rules.md §2 and the tables above */
function classifyInboundV2(text: string, settings: KeywordSettings): InboundClassification {
  const normalised = normaliseInboundText(text);
  const sets = keywordSetsFor(settings);
  const classification = classifier(normalised, sets);

  if (normalised === '') return classification('message', null);
  const tokens = normalised.split(' ');

  // A keyword as the whole message (consent-rules.md §2), or spelled out letter by letter; opt-out wins.
  for (const whole of [normalised, spelledOut(tokens)]) {
    if (whole === null) continue;
    if (sets.optOut.includes(whole)) return classification('opt_out', whole);
    if (sets.help.includes(whole)) return classification('help', whole);
    if (sets.resubscribe.includes(whole)) return classification('resubscribe', whole);
  }

  const rules = readingRulesV2For(sets, settings);
  const strict = settings.mode === 'strict';
  const reply = readKeywordsWithCourtesy(tokens, rules, strict);
  if (reply !== null) return classification(reply.intent, reply.matched);

  // A phrase revokes unless a look-alike context covers it or a negation comes just before it.
  let notRevoking: Array<[number, number]> | undefined;
  const deniedOrOtherSense = (start: number, end: number): boolean => {
    if (rules.negations.some((negation) => wordsAt(tokens, start - negation.length, negation))) return true;
    notRevoking ??= coveredSpans(tokens, rules.notRevoking);
    return notRevoking.some(([from, to]) => from < end && start < to && !(start <= from && to <= end));
  };
  const revocation = findPattern(tokens, rules.revocations, deniedOrOtherSense);
  const revocationText = revocation === null ? null : tokens.slice(revocation.start, revocation.end).join(' ');

  // FCC 2024 order: revocation "by any reasonable means"; strict mode limits opt-outs to keywords.
  if (!strict) {
    if (revocationText !== null) return classification('revocation', revocationText);
    // A keyword beside words that leave no other reading of it ("Not interested. Stop.").
    if (findPattern(tokens, rules.reinforcers) !== null) {
      const keyword = sets.optOut.find((candidate) => {
        const words = candidate.split(' ');
        for (let at = 0; at + words.length <= tokens.length; at++) {
          if (wordsAt(tokens, at, words) && !deniedOrOtherSense(at, at + words.length)) return true;
        }
        return false;
      });
      if (keyword !== undefined) return classification('revocation', keyword);
    }
  }

  // A keyword inside a longer message may or may not mean it, so an operator looks; HELP/INFO inside a sentence is harmless.
  const keyword =
    sets.optOut.find((candidate) => containsWords(normalised, candidate)) ??
    sets.resubscribe.find((candidate) => containsWords(normalised, candidate));
  if (keyword !== undefined) return classification('needs_review', keyword);
  // In strict mode a revocation phrase does not opt out, but an operator should see it.
  if (revocationText !== null) return classification('needs_review', revocationText);
  const complaint = findPattern(tokens, rules.review);
  if (complaint !== null) return classification('needs_review', tokens.slice(complaint.start, complaint.end).join(' '));

  return classification('message', null);
}

/** the intent that actually applies given the contact's opt-out state: a YES from a contact who is not opted out is an ordinary 'message' */
export function intentFor(classification: InboundClassification, contactOptedOut: boolean): InboundIntent {
  if (classification.onlyWhenOptedOut && !contactOptedOut) return 'message';
  return classification.intent;
}
