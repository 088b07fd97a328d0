import { describe, it, expect } from 'vitest';
import {
  DEFAULT_KEYWORD_SETTINGS,
  classifyInbound,
  intentFor,
  normaliseInboundText,
  normaliseUnicodeText,
  type InboundIntent,
  type KeywordSettings,
} from '../../../workflows/domain/keywords';

// Named settings keep each table row's title readable instead of printing a whole settings object.
const SETTINGS = {
  default: undefined,
  es: { ...DEFAULT_KEYWORD_SETTINGS, languages: ['es'] },
  fr: { ...DEFAULT_KEYWORD_SETTINGS, languages: ['fr'] },
  strict: { ...DEFAULT_KEYWORD_SETTINGS, mode: 'strict' },
  extras: { ...DEFAULT_KEYWORD_SETTINGS, optOut: [' basta! '], help: ['support'], resubscribe: ['Subscribe'] },
  ownPhrases: { ...DEFAULT_KEYWORD_SETTINGS, revocationPhrases: ['Leave me alone'] },
} satisfies Record<string, KeywordSettings | undefined>;

type Row = [text: string, settings: keyof typeof SETTINGS, intent: InboundIntent, matched: string | null];

const table: Row[] = [
  // Every default opt-out keyword, in upper, lower and mixed case (seed, Twilio 2025, FCC).
  ['STOP', 'default', 'opt_out', 'STOP'],
  ['stop', 'default', 'opt_out', 'STOP'],
  ['Stop', 'default', 'opt_out', 'STOP'],
  ['UNSUBSCRIBE', 'default', 'opt_out', 'UNSUBSCRIBE'],
  ['unsubscribe', 'default', 'opt_out', 'UNSUBSCRIBE'],
  ['UnSubscribe', 'default', 'opt_out', 'UNSUBSCRIBE'],
  ['CANCEL', 'default', 'opt_out', 'CANCEL'],
  ['cancel', 'default', 'opt_out', 'CANCEL'],
  ['Cancel', 'default', 'opt_out', 'CANCEL'],
  ['END', 'default', 'opt_out', 'END'],
  ['end', 'default', 'opt_out', 'END'],
  ['End', 'default', 'opt_out', 'END'],
  ['QUIT', 'default', 'opt_out', 'QUIT'],
  ['quit', 'default', 'opt_out', 'QUIT'],
  ['Quit', 'default', 'opt_out', 'QUIT'],
  ['STOPALL', 'default', 'opt_out', 'STOPALL'],
  ['stopall', 'default', 'opt_out', 'STOPALL'],
  ['StopAll', 'default', 'opt_out', 'STOPALL'],
  ['STOP ALL', 'default', 'opt_out', 'STOP ALL'],
  ['stop all', 'default', 'opt_out', 'STOP ALL'],
  ['Stop All', 'default', 'opt_out', 'STOP ALL'],
  ['REVOKE', 'default', 'opt_out', 'REVOKE'],
  ['revoke', 'default', 'opt_out', 'REVOKE'],
  ['Revoke', 'default', 'opt_out', 'REVOKE'],
  ['OPTOUT', 'default', 'opt_out', 'OPTOUT'],
  ['optout', 'default', 'opt_out', 'OPTOUT'],
  ['OptOut', 'default', 'opt_out', 'OPTOUT'],
  ['OPT OUT', 'default', 'opt_out', 'OPT OUT'],
  ['opt out', 'default', 'opt_out', 'OPT OUT'],
  ['Opt Out', 'default', 'opt_out', 'OPT OUT'],
  ['opt-out', 'default', 'opt_out', 'OPT OUT'],
  ['OPT_OUT', 'default', 'opt_out', 'OPT OUT'],

  // Every default re-subscribe and help keyword, in upper, lower and mixed case.
  ['START', 'default', 'resubscribe', 'START'],
  ['start', 'default', 'resubscribe', 'START'],
  ['Start', 'default', 'resubscribe', 'START'],
  ['UNSTOP', 'default', 'resubscribe', 'UNSTOP'],
  ['unstop', 'default', 'resubscribe', 'UNSTOP'],
  ['UnStop', 'default', 'resubscribe', 'UNSTOP'],
  ['YES', 'default', 'resubscribe', 'YES'],
  ['yes', 'default', 'resubscribe', 'YES'],
  ['Yes', 'default', 'resubscribe', 'YES'],
  ['HELP', 'default', 'help', 'HELP'],
  ['help', 'default', 'help', 'HELP'],
  ['Help', 'default', 'help', 'HELP'],
  ['INFO', 'default', 'help', 'INFO'],
  ['info', 'default', 'help', 'INFO'],
  ['Info', 'default', 'help', 'INFO'],

  // White space, punctuation, emoji and compatibility forms around a whole-message keyword are ignored.
  ['  stop  ', 'default', 'opt_out', 'STOP'],
  ['\tSTOP\n', 'default', 'opt_out', 'STOP'],
  ['STOP!!!', 'default', 'opt_out', 'STOP'],
  ['stop.', 'default', 'opt_out', 'STOP'],
  ['Stop 🛑', 'default', 'opt_out', 'STOP'],
  ['🛑 STOP 🛑', 'default', 'opt_out', 'STOP'],
  ['“STOP”', 'default', 'opt_out', 'STOP'],
  ['ＳＴＯＰ', 'default', 'opt_out', 'STOP'],
  ['Stöp', 'default', 'opt_out', 'STOP'],
  ['Quít!', 'default', 'opt_out', 'QUIT'],
  ['Help?', 'default', 'help', 'HELP'],
  ['YES!', 'default', 'resubscribe', 'YES'],
  ['start 👍', 'default', 'resubscribe', 'START'],

  // Only the whole word counts: spaced-out or lengthened keywords are plain messages.
  ['S T O P', 'default', 'message', null],
  ['STOPP', 'default', 'message', null],
  ['Stopping by later', 'default', 'message', null],
  ['Yesterday was great', 'default', 'message', null],

  // Each FCC "reasonable means" revocation phrase from consent-rules.md §2, inside a sentence.
  ['Can you stop texting me', 'default', 'revocation', 'STOP TEXTING'],
  ['Please stop texting me!!', 'default', 'revocation', 'STOP TEXTING'],
  ['Stop messaging me, thanks', 'default', 'revocation', 'STOP MESSAGING ME'],
  ["Please stop, I'm not interested", 'default', 'revocation', 'PLEASE STOP'],
  ['Stop please!', 'default', 'revocation', 'STOP PLEASE'],
  ['Can you opt me out of these', 'default', 'revocation', 'OPT ME OUT'],
  ['Remove me from your list', 'default', 'revocation', 'REMOVE ME'],
  ['Unsubscribe me now', 'default', 'revocation', 'UNSUBSCRIBE ME'],
  ['take me off this list please', 'default', 'revocation', 'TAKE ME OFF'],
  ['Sorry, wrong number', 'default', 'revocation', 'WRONG NUMBER'],
  ['wrong number', 'default', 'revocation', 'WRONG NUMBER'],
  ['Do not text this number again', 'default', 'revocation', 'DO NOT TEXT'],
  ["Don't text me anymore", 'default', 'revocation', 'DONT TEXT'],
  ['don’t text me', 'default', 'revocation', 'DONT TEXT'],
  ['No more texts please', 'default', 'revocation', 'NO MORE TEXTS'],
  ['No más', 'default', 'revocation', 'NO MAS'],
  ['no mas mensajes por favor', 'default', 'revocation', 'NO MAS'],

  // A keyword used in another sense changes nothing but is flagged for an operator.
  ['We have got to STOP this bill', 'default', 'needs_review', 'STOP'],
  ['Stop by our office Monday', 'default', 'needs_review', 'STOP'],
  ['Yes, see you then', 'default', 'needs_review', 'YES'],
  ['The END of the month works', 'default', 'needs_review', 'END'],
  ['I quit my job lol', 'default', 'needs_review', 'QUIT'],
  ['Can you cancel my appointment', 'default', 'needs_review', 'CANCEL'],
  ["Let's start at noon", 'default', 'needs_review', 'START'],
  ['Revoke the old key', 'default', 'needs_review', 'REVOKE'],

  // HELP/INFO inside a sentence is harmless, and a near-miss of a phrase is not a revocation.
  ['I need some info on pricing', 'default', 'message', null],
  ['Can you help me with my order', 'default', 'message', null],
  ['Can you remove meat from the order', 'default', 'message', null],

  // Plain messages, empty text and emoji-only text.
  ['Hello, what time do you open?', 'default', 'message', null],
  ['Thanks!', 'default', 'message', null],
  ['', 'default', 'message', null],
  ['   ', 'default', 'message', null],
  ['🛑🛑', 'default', 'message', null],
  ['👍', 'default', 'message', null],

  // Spanish and French keywords act only when the account enabled that language.
  ['ALTO', 'default', 'message', null],
  ['ALTO', 'es', 'opt_out', 'ALTO'],
  ['parar', 'es', 'opt_out', 'PARAR'],
  ['Cancelar', 'es', 'opt_out', 'CANCELAR'],
  ['ayuda', 'default', 'message', null],
  ['AYUDA', 'es', 'help', 'AYUDA'],
  ['Comenzar', 'es', 'resubscribe', 'COMENZAR'],
  ['quiero cancelar mi cita', 'es', 'needs_review', 'CANCELAR'],
  ['STOP', 'es', 'opt_out', 'STOP'],
  ['ARRÊT', 'default', 'message', null],
  ['ARRÊT', 'fr', 'opt_out', 'ARRET'],
  ['arret', 'fr', 'opt_out', 'ARRET'],
  ['Aide', 'default', 'message', null],
  ['AIDE', 'fr', 'help', 'AIDE'],

  // Configured extras add to the defaults, written in any case, and never remove them.
  ['basta', 'default', 'message', null],
  ['Basta!', 'extras', 'opt_out', 'BASTA'],
  ['STOP', 'extras', 'opt_out', 'STOP'],
  ['Support', 'extras', 'help', 'SUPPORT'],
  ['subscribe', 'extras', 'resubscribe', 'SUBSCRIBE'],
  ['Just leave me alone', 'ownPhrases', 'revocation', 'LEAVE ME ALONE'],
  ['wrong number', 'ownPhrases', 'message', null],

  // Strict mode: whole-message keywords only; phrases merely flag a contained keyword.
  ['STOP', 'strict', 'opt_out', 'STOP'],
  ['YES', 'strict', 'resubscribe', 'YES'],
  ['stop texting me', 'strict', 'needs_review', 'STOP'],
  ['Please stop', 'strict', 'needs_review', 'STOP'],
  ['wrong number', 'strict', 'message', null],
  ['No más', 'strict', 'message', null],
];

describe('classifyInbound', () => {
  it('has a table of at least 80 cases', () => {
    expect(table.length).toBeGreaterThanOrEqual(80);
  });

  it.each(table)('%j with %s settings is %s (matched %j)', (text, settingsName, intent, matched) => {
    const classification = classifyInbound(text, SETTINGS[settingsName]);
    expect({ intent: classification.intent, matched: classification.matched }).toEqual({ intent, matched });
  });

  it('reports the normalised text it decided on, empty for emoji-only text', () => {
    expect(classifyInbound('  Stop 🛑 ').normalised).toBe('STOP');
    expect(classifyInbound('🛑👍').normalised).toBe('');
  });

  it('marks only YES as needing the contact to be opted out', () => {
    expect(classifyInbound('YES').onlyWhenOptedOut).toBe(true);
    expect(classifyInbound('Yes, see you then').onlyWhenOptedOut).toBe(true);
    expect(classifyInbound('START').onlyWhenOptedOut).toBe(false);
    expect(classifyInbound('STOP').onlyWhenOptedOut).toBe(false);
    expect(classifyInbound('wrong number').onlyWhenOptedOut).toBe(false);
  });
});

describe('intentFor', () => {
  it('YES from an opted-out contact re-subscribes', () => {
    expect(intentFor(classifyInbound('YES'), true)).toBe('resubscribe');
  });

  it('YES from a contact who is not opted out is an ordinary message', () => {
    expect(intentFor(classifyInbound('YES'), false)).toBe('message');
  });

  it('STOP opts out whether or not the contact is already opted out', () => {
    expect(intentFor(classifyInbound('STOP'), false)).toBe('opt_out');
    expect(intentFor(classifyInbound('STOP'), true)).toBe('opt_out');
  });

  it('START stays a re-subscribe either way, since a contact who is not opted out still gets one answer', () => {
    expect(intentFor(classifyInbound('START'), false)).toBe('resubscribe');
    expect(intentFor(classifyInbound('START'), true)).toBe('resubscribe');
  });

  it('a YES inside a sentence needs review only from an opted-out contact', () => {
    expect(intentFor(classifyInbound('Yes, see you then'), true)).toBe('needs_review');
    expect(intentFor(classifyInbound('Yes, see you then'), false)).toBe('message');
  });
});

describe('normaliseInboundText', () => {
  it('maps full-width letters to plain ones (NFKC)', () => {
    expect(normaliseInboundText('ＳＴＯＰ')).toBe('STOP');
  });

  it('folds accents, drops punctuation and trims', () => {
    expect(normaliseInboundText('  Arrêt !! ')).toBe('ARRET');
  });

  it('removes apostrophes and collapses inner white space', () => {
    expect(normaliseInboundText("don't  text")).toBe('DONT TEXT');
    expect(normaliseInboundText('don’t text')).toBe('DONT TEXT');
  });

  it('turns punctuation and emoji between words into one space', () => {
    expect(normaliseInboundText('opt-out')).toBe('OPT OUT');
    expect(normaliseInboundText('stop🛑now')).toBe('STOP NOW');
  });

  it('reads plain ASCII exactly as the full Unicode normalisation does (its shortcut changes nothing)', () => {
    // Every printable ASCII character and the white space a text can carry, alone and in seeded random strings.
    const alphabet = ['\t', '\n', '\r', ...Array.from({ length: 95 }, (_, index) => String.fromCharCode(32 + index))];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const samples = [...alphabet, ...Array.from({ length: 2000 }, () => Array.from({ length: 1 + (next() % 24) }, () => alphabet[next() % alphabet.length]).join(''))];
    for (const text of samples) expect(normaliseInboundText(text), JSON.stringify(text)).toBe(normaliseUnicodeText(text));
  });
});
