/** The review queue from the CLI: `reviews` lists the open flags, `resolve` decides one (an opt-out, or not one). */
import { Option, type Command } from 'commander';
import type { ServiceConfig } from '../config';
import type { EdgeSchemas } from '../schemas';
import { REVIEW_DECISIONS } from '../../workflows/domain/schemas';
import { checkInput } from './input';
import { withConsentClient } from './service-connection';

export function registerReviewCommands(program: Command, prepare: () => { config: ServiceConfig; schemas: EdgeSchemas }, print: (value: unknown) => void): void {
  program
    .command('reviews')
    .description('the review queue: contacts whose texts contained a keyword without clearly revoking, with those texts')
    .option('--limit <n>', 'contacts to list', '50')
    .option('--json', 'print the queue as JSON')
    .action(async (options: { limit: string; json?: boolean }) => {
      const { config, schemas } = prepare();
      const query = checkInput(schemas.reviewList, { limit: options.limit });
      await withConsentClient(config, { temporal: true, postgres: false }, async (consent) => {
        const { reviews } = await consent.listReviews(query);
        if (options.json) return print({ reviews });
        if (reviews.length === 0) return print('no open review flags');
        for (const entry of reviews) {
          print(`${entry.contact}${entry.optedOut ? ' (opted out)' : ''}`);
          for (const flag of entry.flags) print(`  ${flag.messageId}  ${flag.receivedAt}  on ${flag.businessNumber}  matched ${flag.matched ?? '-'}: ${JSON.stringify(flag.body)}`);
        }
      });
    });

  program
    .command('resolve')
    .description('decide one review flag: opt_out records it as an opt-out (operator-recorded); not_an_opt_out closes it')
    .argument('<phone>', 'the contact')
    .argument('<messageId>', 'the flagged text\'s message id (from `reviews`)')
    .addOption(new Option('--decision <decision>', 'what the text was').choices([...REVIEW_DECISIONS]).makeOptionMandatory())
    .requiredOption('--decided-by <who>', 'who decided (kept as evidence)')
    .option('--why <text>', 'why (kept as evidence)')
    .action(async (phone: string, messageId: string, options: { decision: string; decidedBy: string; why?: string }) => {
      const { config, schemas } = prepare();
      const decision = checkInput(schemas.resolveReview, { phone, messageId, decision: options.decision, decidedBy: options.decidedBy, why: options.why ?? null });
      await withConsentClient(config, { temporal: true, postgres: false }, async (consent) => {
        print(await consent.resolveReview(decision));
      });
    });
}
