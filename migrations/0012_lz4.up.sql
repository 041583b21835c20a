-- The documents' content and the signatures' CMS are TOASTed: with PostgreSQL's
-- default pglz, compressing them is the largest single function of the
-- server's CPU at intake (issue 16; perf: pglz_compress ~11 % of postgres
-- CPU in BenchmarkIntake), and every later read (a package, a delivery)
-- pays pglz's decompression. lz4 compresses several times faster at a
-- similar ratio for XML. Existing values keep pglz (both read back
-- transparently).
--
-- SET COMPRESSION on a partitioned table does not reach its existing
-- partitions, only the ones created after it (CREATE TABLE … PARTITION OF
-- copies the parent's setting), so each existing partition is set too.
-- TestLZ4Compression in internal/store checks both.
ALTER TABLE documents ALTER COLUMN content SET COMPRESSION lz4;
ALTER TABLE document_signatures ALTER COLUMN cms SET COMPRESSION lz4;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, CASE p.relname WHEN 'documents' THEN 'content' ELSE 'cms' END AS col
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname IN ('documents', 'document_signatures')
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION lz4', r.rel, r.col);
    END LOOP;
END
$$;
