-- The organisation's ОГРН (or ОГРНИП), recorded by the operator when a
-- system is registered. The door matches the organisation's signature
-- certificate against it when a document's custodian carries no ОГРН
-- (issue 10, item 17); NULL: not recorded, and such documents are refused.
ALTER TABLE organizations ADD COLUMN ogrn text
    CHECK (ogrn ~ '^([0-9]{13}|[0-9]{15})$');
