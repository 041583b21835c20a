-- ЕПГУ notices to citizens beyond the certificate itself (issue 15).
--
-- A delivery now names the ЕПГУ event it carries: '' for the document's own
-- delivery (a certificate to ЕГР ЗАГС, CERTIFICATE_ISSUED to ЕПГУ), or an
-- MSE event (MSE_REFERRAL_ACCEPTED, MSE_RESULT_READY, MSE_REFERRAL_RETURNED)
-- on the referral's document. The unique key makes each event of a referral
-- one delivery, however often the step that raises it runs again (retries,
-- restarts, a result fetched again after a lost acknowledgement).
ALTER TABLE deliveries ADD COLUMN event text NOT NULL DEFAULT '';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_document_id_recipient_key;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_document_recipient_event_key UNIQUE (document_id, recipient, event);

-- not_notifiable: the citizen cannot be told on ЕПГУ (no СНИЛС in the
-- document, or no portal account); recorded with the reason, not retried.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
    CHECK (state IN ('pending', 'retrying', 'delivered', 'failed', 'blocked_certificate', 'superseded', 'not_notifiable'));

-- Proactive notices of new documents (HUB_EPGU_DOCUMENT_NOTICES=on): every
-- accepted document whose patient has a СНИЛС waits here for its citizen's
-- daily batch; a batch (one per citizen and Moscow day) is one ЕПГУ delivery
-- (event NEW_MEDICAL_DOCUMENTS) on its first document, so it runs under the
-- same retries, breaker, certificate gate and troubles as any delivery.
CREATE TABLE epgu_notice_batches (
    patient_snils text NOT NULL,
    day           date NOT NULL,
    delivery_id   uuid NOT NULL UNIQUE REFERENCES deliveries(id) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (patient_snils, day)
);
CREATE TABLE epgu_document_notices (
    document_id   uuid PRIMARY KEY REFERENCES documents(id),
    patient_snils text NOT NULL,
    day           date NOT NULL,  -- the document's arrival, Moscow date
    delivery_id   uuid REFERENCES deliveries(id),  -- its batch's delivery, once batched
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX epgu_document_notices_open_idx ON epgu_document_notices (day, patient_snils) WHERE delivery_id IS NULL;
