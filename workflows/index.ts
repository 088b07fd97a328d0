/** The workflow bundle's entry: every workflow type the worker hosts. */
export { contactWorkflow } from './contact';
export { sendMessageWorkflow } from './send';
export { suppressionImportWorkflow } from './suppression-import';
export { campaignWorkflow } from './campaign';
export { eventDeliveryWorkflow } from './event-delivery';
