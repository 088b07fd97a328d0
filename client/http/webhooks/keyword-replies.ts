/**
 * Which keywords a provider answers itself, so that a contact gets one confirmation, not two (issue 14, item 7).
 * Each mode is the provider's documented behaviour; the deployment says which one its provider account runs.
 */
import { SHORT_CODE_PATTERN, type ProviderKeywordReplies } from '../../../workflows/domain/schemas';

/** TWILIO_KEYWORD_REPLIES and TELNYX_KEYWORD_REPLIES: who answers the keywords arriving through each provider. */
export const TWILIO_KEYWORD_REPLY_MODES = ['engine', 'twilio-default', 'advanced-opt-out'] as const;
export const TELNYX_KEYWORD_REPLY_MODES = ['engine', 'telnyx-default'] as const;
export type TwilioKeywordReplies = (typeof TWILIO_KEYWORD_REPLY_MODES)[number];
export type TelnyxKeywordReplies = (typeof TELNYX_KEYWORD_REPLY_MODES)[number];

export interface KeywordReplySettings {
  twilio?: TwilioKeywordReplies;
  telnyx?: TelnyxKeywordReplies;
}

/**
 * Twilio's default filtering on long codes and toll-free numbers: single-word messages, case-insensitive
 * (help.twilio.com, "Twilio support for opt-out keywords (SMS STOP filtering)"; the Advanced Opt-Out tutorial lists
 * REVOKE and OPTOUT as well). Standalone short codes get no keyword handling from Twilio.
 */
export const TWILIO_DEFAULT_KEYWORDS = {
  optOut: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'],
  resubscribe: ['START', 'YES', 'UNSTOP'],
  help: ['HELP', 'INFO'],
};

/** Telnyx's default opt-out management (developers.telnyx.com, Advanced Opt-In/Out, "Default behavior"): no HELP reply. */
export const TELNYX_DEFAULT_KEYWORDS = {
  optOut: ['STOP', 'STOPALL', 'STOP ALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'],
  resubscribe: ['START', 'UNSTOP'],
  help: [] as string[],
};

/** What Twilio answered for this text, as the inbound message carries it; undefined when the engine answers all. */
export function twilioKeywordReplies(mode: TwilioKeywordReplies | undefined, to: string, optOutType: 'STOP' | 'START' | 'HELP' | null): ProviderKeywordReplies | undefined {
  switch (mode ?? 'engine') {
    case 'engine':
      return undefined;
    // Advanced Opt-Out says in each webhook what it handled (OptOutType); a text without it was not a keyword there.
    case 'advanced-opt-out':
      return { provider: 'twilio', optOut: [], resubscribe: [], help: [], optOutType };
    case 'twilio-default':
      return SHORT_CODE_PATTERN.test(to) ? undefined : { provider: 'twilio', ...TWILIO_DEFAULT_KEYWORDS, optOutType: null };
  }
}

export function telnyxKeywordReplies(mode: TelnyxKeywordReplies | undefined): ProviderKeywordReplies | undefined {
  return mode === 'telnyx-default' ? { provider: 'telnyx', ...TELNYX_DEFAULT_KEYWORDS, optOutType: null } : undefined;
}
