-- Texts and opt-outs the edge accepted while Temporal could not be reached (consent-rules.md §1: an opt-out is never
-- refused at the door, never delayed by a failing dependency). Each row is the signal the edge would have sent the
-- contact's actor, verbatim; the API's drain delivers them in id order once Temporal answers, and the actor's own
-- dedupe by messageId makes a second delivery harmless.
CREATE TABLE signal_backlog (
  id            bigserial PRIMARY KEY,
  contact       text NOT NULL,
  -- the task queue the actor starts on, should the signal start it: each deployment drains its own
  task_queue    text NOT NULL,
  -- the contact actor's signal: inboundMessage or recordOptOut
  signal        text NOT NULL,
  payload       jsonb NOT NULL,
  -- an opt-out (a STOP text, a revocation, a recorded opt-out): the send gate refuses the contact while it waits
  opt_out       boolean NOT NULL,
  accepted_at   timestamptz NOT NULL DEFAULT now(),
  -- why it was not signalled at once (the Temporal client's error)
  accepted_why  text NOT NULL,
  delivered_at  timestamptz,
  attempts      integer NOT NULL DEFAULT 0,
  -- a signal Temporal refused for itself is tried again from then on (5 s, doubling, at most 5 min); NULL: at once
  next_attempt_at timestamptz,
  last_error    text
);
CREATE INDEX signal_backlog_waiting ON signal_backlog (contact, id) WHERE delivered_at IS NULL;
CREATE INDEX signal_backlog_to_drain ON signal_backlog (task_queue, id) WHERE delivered_at IS NULL;
