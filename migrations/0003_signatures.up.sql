-- Verified signatures: what the hub learnt of each signer's certificate, so
-- the certificate gate and the expiring-certificates list need no re-parse;
-- and the states of deliveries and referrals stopped by the gate.

ALTER TABLE document_signatures
    ADD COLUMN signer_subject  text,
    ADD COLUMN signer_issuer   text,
    ADD COLUMN signer_serial   text,
    ADD COLUMN signer_ogrn     text,
    ADD COLUMN signer_snils    text,
    ADD COLUMN key_bits        integer,
    ADD COLUMN cert_not_before timestamptz,
    ADD COLUMN cert_not_after  timestamptz,
    ADD COLUMN cert_sha256     bytea,
    ADD COLUMN signer_issuer_der bytea;  -- with signer_serial: what a CRL lists
CREATE INDEX document_signatures_not_after_idx ON document_signatures (cert_not_after);
CREATE INDEX document_signatures_cert_idx ON document_signatures (cert_sha256); -- work waiting on one certificate

-- blocked_certificate: stopped by the gate (a signer's certificate is no
-- longer valid); superseded: a newer signed version of the document took over.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
    CHECK (state IN ('pending', 'retrying', 'delivered', 'failed', 'blocked_certificate', 'superseded'));
ALTER TABLE deliveries ADD COLUMN superseded_by uuid REFERENCES documents(id);

ALTER TABLE mse_referrals DROP CONSTRAINT mse_referrals_state_check;
ALTER TABLE mse_referrals ADD CONSTRAINT mse_referrals_state_check
    CHECK (state IN ('received', 'assembling', 'incomplete', 'sending', 'sent', 'accepted',
                     'returned', 'result_received', 'failed', 'blocked_certificate', 'superseded'));
ALTER TABLE mse_referrals ADD COLUMN superseded_by uuid REFERENCES documents(id);

CREATE INDEX documents_set_idx ON documents (organization_id, set_root, set_extension, version_number);
