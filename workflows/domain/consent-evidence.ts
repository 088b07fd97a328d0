/**
 * consent-rules.md §5: what an express consent must carry as evidence, and which claimed consents are refused.
 * Pure: the consent API validates with it, and so does the contact actor before it stores a consent.
 */
import { ownPattern, z } from './zod';
import { lazySchema } from './lazy-schema';
import { storableText } from './storable';
import { MAX_MESSAGE_ID_LENGTH, MESSAGE_TYPES, businessNumberSchema, e164Schema, isoTimestampSchema, storableTextField } from './schemas';

const requiredText = (max: number) => storableTextField({ min: 1, max });
const optionalText = (max: number) => storableTextField({ min: 1, max }).optional();

/** The customer submitted a web form: what they saw, that they ticked the box themselves, and where from. */
const webFormSourceSchema = lazySchema(() =>
  z
    .object({
      kind: z.literal('web_form'),
      formUrl: z.url({ protocol: /^https?$/, hostname: ownPattern(z.regexes.domain), message: 'must be an http(s) URL' }).max(2048).transform(storableText),
      /** the consent wording the customer saw, verbatim */
      consentText: requiredText(2000),
      /** required, not defaulted: a form whose box state is unknown cannot prove the customer ticked it */
      checkboxPrechecked: z.boolean(),
      submittedAt: isoTimestampSchema,
      ipAddress: z
        .union([z.string().regex(ownPattern(z.regexes.ipv4)), z.string().regex(ownPattern(z.regexes.ipv6))], {
          message: 'must be an IPv4 or IPv6 address',
        })
        .optional(),
      userAgent: optionalText(512),
    })
    .refine((source) => source.ipAddress !== undefined || source.userAgent !== undefined, {
      message: "is required when userAgent is absent: a web form consent needs the customer's IP address or user agent",
      path: ['ipAddress'],
    }),
);

/** Consent given on a call: who took it, and the call or CRM record that backs it. */
const verbalSourceSchema = lazySchema(() =>
  z
    .object({
      kind: z.literal('verbal'),
      /** the agent's name or e-mail */
      takenBy: requiredText(200),
      callId: optionalText(200),
      crmReference: optionalText(200),
    })
    .refine((source) => source.callId !== undefined || source.crmReference !== undefined, {
      message: 'is required when crmReference is absent: a verbal consent needs a call id or a CRM reference',
      path: ['callId'],
    }),
);

const paperFormSourceSchema = lazySchema(() =>
  z.object({
    kind: z.literal('paper_form'),
    /** where the scanned or filed form can be found */
    documentReference: requiredText(200),
    signed: z.boolean(),
  }),
);

/** Recorded by the contact actor itself from the contact's own text. */
const inboundTextSourceSchema = lazySchema(() =>
  z.object({
    kind: z.literal('inbound_text'),
    messageId: requiredText(MAX_MESSAGE_ID_LENGTH),
  }),
);

// Never consent (§5), but they parse so the caller is told why they are refused rather than "invalid kind".
const purchasedListSourceSchema = lazySchema(() =>
  z.object({ kind: z.literal('purchased_list'), listName: optionalText(200) }),
);
const scrapedSourceSchema = lazySchema(() =>
  z.object({ kind: z.literal('scraped'), origin: optionalText(200) }),
);
const callingOnlySourceSchema = lazySchema(() =>
  z.object({ kind: z.literal('calling_only'), note: optionalText(1000) }),
);

/** consent-rules.md §5: valid opt-in sources, each with its evidence, and the claimed sources that are refused. */
export const consentSourceSchema = lazySchema(() =>
  z.discriminatedUnion('kind', [
    webFormSourceSchema,
    verbalSourceSchema,
    paperFormSourceSchema,
    inboundTextSourceSchema,
    purchasedListSourceSchema,
    scrapedSourceSchema,
    callingOnlySourceSchema,
  ]),
);
export type ConsentSource = z.infer<typeof consentSourceSchema>;
export type ConsentSourceKind = ConsentSource['kind'];

/** A state or time zone given with the consent (a form's address): quiet hours read it before the area code (§9). */
export const recipientLocationSchema = lazySchema(() =>
  z
    .object({
      /** two-letter state, territory or province code (FL, PR, ON) */
      state: z.string().trim().toUpperCase().regex(/^[A-Z]{2}$/, 'must be a two-letter state, territory or province code such as FL').optional(),
      /** an IANA time zone such as America/New_York */
      timeZone: z.string().trim().regex(/^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+){1,2}$/, 'must be an IANA time zone such as America/New_York').optional(),
    })
    .refine((location) => location.state !== undefined || location.timeZone !== undefined, { message: 'must give a state or a timeZone' }),
);
export type RecipientLocationInput = z.infer<typeof recipientLocationSchema>;

/** Keywords that confirm a double opt-in (Attentive's and Braze's default: Y or YES). */
export const DEFAULT_CONFIRMATION_KEYWORDS = ['Y', 'YES'];

/**
 * How the consent is confirmed by text (consent-rules.md §10), decided at the edge from the program: a single opt-in
 * holds at once and is confirmed once (CTIA 5.1.2.1); a double opt-in stays pending until the contact replies one of
 * the keywords on `from` before `expiresAt`. Absent (older signals): no text is sent.
 */
export const consentConfirmationSchema = lazySchema(() =>
  z.object({
    mode: z.enum(['single_opt_in', 'double_opt_in']),
    /** the business number the request or the confirmation goes from; null: none can be sent */
    from: businessNumberSchema.nullable(),
    /** send the opt-in confirmation once the consent holds (the program may switch it off) */
    confirm: z.boolean(),
    keywords: z.array(z.string().trim().toUpperCase().min(1).max(20)).min(1).max(10).default(DEFAULT_CONFIRMATION_KEYWORDS),
    /** double opt-in: when it expires unconfirmed */
    expiresAt: isoTimestampSchema.nullable().default(null),
  }),
);
export type ConsentConfirmation = z.infer<typeof consentConfirmationSchema>;

export const consentInputSchema = lazySchema(() =>
  z.object({
    type: z.enum(['express', 'express_written']),
    source: consentSourceSchema,
    /** the message types this consent covers */
    messageTypes: z.array(z.enum(MESSAGE_TYPES)).min(1, 'must name at least one message type'),
    /** null: any business number of the account */
    businessNumber: e164Schema.nullable().default(null),
    program: storableTextField({ min: 1, max: 100 }).nullable().default(null),
    grantedAt: isoTimestampSchema,
    recipientLocation: recipientLocationSchema.optional(),
    confirmation: consentConfirmationSchema.optional(),
  }),
);
export type ConsentInput = z.infer<typeof consentInputSchema>;
export type ConsentInputRaw = z.input<typeof consentInputSchema>;

export type ConsentRefusalRule =
  | 'PRECHECKED_BOX'
  | 'PURCHASED_LIST'
  | 'SCRAPED_NUMBERS'
  | 'CALLING_ONLY'
  | 'WRITTEN_ACT_REQUIRED'
  | 'UNSIGNED_PAPER_FORM';

export type ConsentCheck = { ok: true } | { ok: false; rule: ConsentRefusalRule; reason: string };

const CITATION = '(consent-rules.md §5; FCC TCPA rules, 47 CFR 64.1200)';

function refuse(rule: ConsentRefusalRule, reason: string): ConsentCheck {
  return { ok: false, rule, reason: `${reason} ${CITATION}` };
}

/**
 * The policy check on a structurally valid input. A pre-checked box, a purchased list, scraped numbers and a
 * number given for calling only are never consent; neither is an unsigned paper form. Express written consent
 * needs a written act: a web form with an unchecked box the customer ticked, or a signed paper form.
 */
export function checkConsentEvidence(input: ConsentInput): ConsentCheck {
  const source = input.source;
  switch (source.kind) {
    case 'purchased_list':
      return refuse(
        'PURCHASED_LIST',
        'A purchased list is not consent: the contact must opt in with this business itself, not through a list bought from someone else',
      );
    case 'scraped':
      return refuse(
        'SCRAPED_NUMBERS',
        'Scraped numbers are not consent: a number found on a website or in a directory was never given to this business to be texted',
      );
    case 'calling_only':
      return refuse(
        'CALLING_ONLY',
        'A number given for calling only is not consent to text: the contact agreed to calls, not to text messages',
      );
    case 'web_form':
      // Checked before the written-act rule: a pre-checked box is no consent of any kind, not merely not "written".
      if (source.checkboxPrechecked) {
        return refuse(
          'PRECHECKED_BOX',
          'A pre-checked box is not consent: the customer must tick an unchecked consent box themselves',
        );
      }
      return { ok: true };
    case 'paper_form':
      if (!source.signed) {
        return refuse('UNSIGNED_PAPER_FORM', "An unsigned paper form is not consent: the form must carry the customer's signature");
      }
      return { ok: true };
    case 'verbal':
    case 'inbound_text':
      if (input.type === 'express_written') {
        const given = source.kind === 'verbal' ? 'a verbal consent' : 'a consent by text message';
        return refuse(
          'WRITTEN_ACT_REQUIRED',
          `Express written consent needs a written act (a web form with an unchecked box the customer ticked, or a signed paper form); ${given} is express consent at most`,
        );
      }
      return { ok: true };
  }
}
