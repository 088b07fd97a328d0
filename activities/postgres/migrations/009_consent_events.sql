-- Consent events out (issue 16): the systems around the engine (a CRM, a helpdesk) hear that a contact opted out,
-- re-subscribed, consented, was flagged for review, was refused a send, or that a campaign completed.
--
-- consent_events is an outbox: each row is written by a trigger in the same transaction as what it reports (a ledger
-- entry, a campaign's completion), so an event exists exactly when its fact does, and a retried append that stores no
-- ledger row adds no event. Payloads are built when delivered, from the ledger row or the campaign, which never change.
CREATE TABLE consent_events (
  -- evt_<id> is the event's id, the same in every delivery and every replay: subscribers deduplicate by it
  id           bigserial PRIMARY KEY,
  -- The transaction that wrote the row. A bigserial is taken at INSERT and becomes visible at COMMIT, so ids commit
  -- out of order: a reader that kept "id > last id" would skip id 10 committed after id 11 had been read. Readers
  -- therefore walk the stream in (tx, id) order and read only rows whose transaction is older than every transaction
  -- still running (tx < pg_snapshot_xmin(pg_current_snapshot())): that set is final, no row can join it later, so
  -- the cursor never passes a row still to come. Writers take no lock; an event waits at most for the longest
  -- transaction running when it committed. activities/postgres/event-subscriptions.ts reads it so.
  tx           xid8 NOT NULL DEFAULT pg_current_xact_id(),
  -- contact.opted_out, …, campaign.completed (workflows/domain/consent-events.ts CONSENT_EVENT_TYPES)
  event_type   text NOT NULL,
  -- whose event; NULL for a campaign's
  contact      text,
  occurred_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  -- What it reports. No foreign keys: one would make TRUNCATE consent_ledger fail on the reference before the
  -- ledger's own append-only trigger could refuse it with its reason (migration 003).
  ledger_id    bigint UNIQUE,
  campaign_id  text,
  CHECK ((ledger_id IS NULL) <> (campaign_id IS NULL))
);
CREATE INDEX consent_events_stream ON consent_events (tx, id);
CREATE INDEX consent_events_recorded ON consent_events (recorded_at, tx, id);
CREATE UNIQUE INDEX consent_events_campaign ON consent_events (campaign_id, event_type) WHERE campaign_id IS NOT NULL;

-- Which ledger events are consent events, and their names: the same table as LEDGER_EVENT_TO_CONSENT_EVENT in
-- workflows/domain/consent-events.ts (test/workflows/consent-events.test.ts holds the two equal).
CREATE FUNCTION consent_event_type(ledger_event text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE ledger_event
    WHEN 'opt_out' THEN 'contact.opted_out'
    WHEN 'resubscribe' THEN 'contact.resubscribed'
    WHEN 'consent_recorded' THEN 'consent.recorded'
    WHEN 'review_flagged' THEN 'review.flagged'
    WHEN 'review_resolved' THEN 'review.resolved'
    WHEN 'send_refused' THEN 'send.refused'
  END
$$;

CREATE FUNCTION consent_events_from_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  kind text := consent_event_type(NEW.event);
BEGIN
  IF kind IS NOT NULL THEN
    INSERT INTO consent_events (event_type, contact, occurred_at, ledger_id) VALUES (kind, NEW.contact, NEW.occurred_at, NEW.id);
  END IF;
  RETURN NULL;
END;
$$;
-- Fires only for rows really inserted: an append retried with ON CONFLICT DO NOTHING adds no second event.
CREATE TRIGGER consent_ledger_consent_events AFTER INSERT ON consent_ledger
  FOR EACH ROW EXECUTE FUNCTION consent_events_from_ledger();

-- A campaign's completion, once: recordStatus('completed') retried, or written again, adds nothing.
CREATE FUNCTION consent_events_from_campaigns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'completed' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'completed') THEN
    INSERT INTO consent_events (event_type, occurred_at, campaign_id)
    VALUES ('campaign.completed', coalesce(NEW.completed_at, now()), NEW.id)
    ON CONFLICT (campaign_id, event_type) WHERE campaign_id IS NOT NULL DO NOTHING;
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER campaigns_consent_events AFTER INSERT OR UPDATE OF status ON campaigns
  FOR EACH ROW EXECUTE FUNCTION consent_events_from_campaigns();

-- What happened before this migration is in the stream too, in the ledger's order, so it can be replayed.
INSERT INTO consent_events (event_type, contact, occurred_at, recorded_at, ledger_id)
  SELECT consent_event_type(event), contact, occurred_at, recorded_at, id FROM consent_ledger
  WHERE consent_event_type(event) IS NOT NULL ORDER BY id;
INSERT INTO consent_events (event_type, occurred_at, recorded_at, campaign_id)
  SELECT 'campaign.completed', coalesce(completed_at, created_at), coalesce(completed_at, created_at), id FROM campaigns
  WHERE status = 'completed' ORDER BY coalesce(completed_at, created_at), id;

-- Who hears which events: from EVENT_SUBSCRIPTIONS (source config, written at each API start) or POST
-- /v1/event-subscriptions (source api). The secrets sign (Standard Webhooks), so they are kept as given; no API
-- answer shows them. Each subscription's deliveries are a workflow, event-delivery:<id>.
CREATE TABLE event_subscriptions (
  id              text PRIMARY KEY,
  url             text NOT NULL,
  -- whsec_…; several during a rotation: every delivery carries one signature per secret
  secrets         text[] NOT NULL CHECK (cardinality(secrets) >= 1),
  events          text[] NOT NULL CHECK (cardinality(events) >= 1),
  description     text,
  source          text NOT NULL CHECK (source IN ('config', 'api')),
  -- false: a configured subscription no longer in EVENT_SUBSCRIPTIONS; its workflow ends
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  -- How far the subscriber has every chosen event (each answered 2xx), and which delivery activity (run id/activity
  -- id) got it there. Written with the successful attempts: a retried activity resumes after it and skips what its
  -- delivery log says it delivered already, so a worker killed mid-delivery redelivers only what was in flight (the
  -- heartbeat alone can be seconds behind).
  delivered_tx    xid8,
  delivered_id    bigint,
  delivered_by    text,
  delivered_at    timestamptz
);

-- The delivery log: one row per attempt, successful or not.
CREATE TABLE event_deliveries (
  id               bigserial PRIMARY KEY,
  subscription_id  text NOT NULL REFERENCES event_subscriptions (id),
  event_id         bigint NOT NULL REFERENCES consent_events (id),
  event_type       text NOT NULL,
  -- 1 for an event's first attempt to this subscription, counting every earlier attempt (replays included)
  attempt          integer NOT NULL,
  attempted_at     timestamptz NOT NULL DEFAULT now(),
  duration_ms      integer NOT NULL,
  -- NULL when no answer came (refused connection, timeout)
  status_code      integer,
  succeeded        boolean NOT NULL,
  error            text,
  -- the delivery activity that made the attempt (as delivered_by above)
  delivered_by     text NOT NULL
);
CREATE INDEX event_deliveries_subscription ON event_deliveries (subscription_id, id);
CREATE INDEX event_deliveries_event ON event_deliveries (subscription_id, event_id, id);
CREATE INDEX event_deliveries_delivered_by ON event_deliveries (subscription_id, delivered_by) WHERE succeeded;
