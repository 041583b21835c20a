-- Every attempt on record: an exchange_log row is written as 'started'
-- before a call goes out (its own transaction) and settled with the outcome
-- after it, so a call whose process died leaves a row the next run of its
-- job turns into 'killed'. job_id names the River job that made the call.
ALTER TABLE exchange_log ADD COLUMN job_id bigint;
CREATE INDEX exchange_log_started_idx ON exchange_log (job_id) WHERE outcome = 'started';

-- Attempts at sending a referral package (links and deliveries had theirs).
ALTER TABLE mse_referrals ADD COLUMN attempts integer NOT NULL DEFAULT 0;

-- Times a delivery was snoozed (rate limited by its recipient, or held by
-- an open circuit breaker): shown among the troubles when it keeps coming back.
ALTER TABLE deliveries ADD COLUMN snoozes integer NOT NULL DEFAULT 0;
