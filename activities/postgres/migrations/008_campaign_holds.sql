-- consent-rules.md §9 in campaigns: a promotional recipient due in its quiet hours is `held` until its window opens
-- (held_until), then sent through the gate again under the same key; a campaign may ask for QUIET_HOURS refusals instead.
ALTER TABLE campaign_recipients DROP CONSTRAINT campaign_recipients_status_check;
ALTER TABLE campaign_recipients ADD CONSTRAINT campaign_recipients_status_check
  CHECK (status IN ('pending', 'held', 'sent', 'refused', 'failed', 'unknown', 'cancelled', 'invalid'));
ALTER TABLE campaign_recipients ADD COLUMN held_until timestamptz;

-- hold: wait for the window (the default, as the gate's); refuse: refuse each with QUIET_HOURS and its next allowed time
ALTER TABLE campaigns ADD COLUMN on_quiet_hours text NOT NULL DEFAULT 'hold' CHECK (on_quiet_hours IN ('hold', 'refuse'));
