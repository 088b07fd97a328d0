/** Programs (consent-rules.md §6): what each declares (business, description, frequency), and a form to declare one. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MESSAGE_TYPES } from '../../../workflows/domain/schemas';
import { InvalidInputError } from '../../consent-client';
import { formList, formValues, sessionOf, type ConsoleContext } from './context';

export function programPages(app: FastifyInstance, context: ConsoleContext): void {
  const { consent } = context;

  async function programsPage(request: FastifyRequest, reply: FastifyReply, extra: { form?: Record<string, unknown>; formIssues?: unknown[]; notice?: unknown } = {}, status = 200) {
    return context.render(
      request,
      reply,
      'programs',
      {
        title: 'Programs',
        nav: 'programs',
        programs: await consent.listPrograms(),
        messageTypes: MESSAGE_TYPES,
        form: extra.form ?? { quietHoursTypes: ['promotional'], optInConfirmation: true },
        formIssues: extra.formIssues ?? [],
        notice: extra.notice ?? null,
      },
      status,
    );
  }

  app.get('/programs', async (request, reply) => programsPage(request, reply));

  /** Declares a program, or changes one (the same id): its frequency is then the cap on each contact's messages. */
  app.post('/programs', async (request, reply) => {
    const session = sessionOf(request);
    const values = formValues(request.body);
    const form = {
      ...values,
      quietHoursTypes: formList(request.body, 'quietHoursTypes'),
      // A checkbox says yes by being there; the hidden field says the form was the one with the box.
      optInConfirmation: values.optInConfirmation === 'on',
    };
    try {
      const program = await consent.upsertProgram({
        id: values.id ?? '',
        businessName: values.businessName ?? '',
        description: values.description ?? '',
        frequency: values.frequency ?? '',
        quietHoursTypes: form.quietHoursTypes as (typeof MESSAGE_TYPES)[number][],
        optInConfirmation: form.optInConfirmation,
      });
      request.log.info({ program: program.id, keyName: session.keyName, operator: session.operator, requestId: request.id }, 'console: program declared');
      const notice = { kind: 'success', message: `Program ${program.id} declared: ${program.businessName}, ${program.description}, ${program.frequency}.` };
      return programsPage(request, reply, { notice });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return programsPage(request, reply, { form, formIssues: error.issues }, 422);
    }
  });
}
