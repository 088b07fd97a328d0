-- consent-rules.md §9, the compliance clock.
-- A state or time zone recorded with a contact's consent (a form's address): it overrides the area code's.
CREATE TABLE contact_locations (
  contact      text PRIMARY KEY,
  region       text,
  time_zone    text,
  -- the consent that recorded it, for the evidence
  recorded_at  timestamptz NOT NULL,
  source       text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Per program: which message types quiet hours apply to (transactional and conversational are exempt by default),
-- and whether a consent to it is confirmed by text (CTIA Messaging Principles 5.1.2.1, on by default).
ALTER TABLE programs ADD COLUMN quiet_hours_types text[] NOT NULL DEFAULT '{promotional}';
ALTER TABLE programs ADD COLUMN opt_in_confirmation boolean NOT NULL DEFAULT true;

-- A message held for quiet hours waits in the outbox as `held` until its window opens, then is decided again.
ALTER TABLE outbound_messages DROP CONSTRAINT outbound_messages_status_check;
ALTER TABLE outbound_messages ADD CONSTRAINT outbound_messages_status_check
  CHECK (status IN ('pending', 'held', 'sending', 'sent', 'failed', 'refused'));
ALTER TABLE outbound_messages ADD COLUMN held_until timestamptz;
