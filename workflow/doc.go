// Package workflow will hold the River job args and workers: every flow
// (MSE referral packages, results back to the referring МИС, certificates to
// ЕГР ЗАГС and ЕПГУ) as a chain of transactional steps; see issue #4. The
// intake already offers the hook (intake.Hook) through which the first jobs
// of a flow are inserted in the same transaction that stores the document,
// and River's schema is migrated with the hub's (internal/db).
package workflow
