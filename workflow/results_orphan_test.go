package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/workflow"
)

// TestOrphanedResultsPullDoesNotStopResults: a worker killed in the middle
// of the periodic results pull leaves its job 'running' until River's
// rescuer retries it (HUB_RESCUE_AFTER, 15 minutes by default). Later pulls
// must not wait for that: a referral sent meanwhile still gets its result.
func TestOrphanedResultsPullDoesNotStopResults(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	opts := workflow.ResultsPullOpts(100 * time.Millisecond) // the env's HUB_RESULTS_POLL_INTERVAL
	opts.ScheduledAt = time.Now().Add(time.Hour)             // never worked by this process
	var jobID int64
	e.waitFor("an orphan pull inserted", func() bool {
		res, err := e.app.Engine.River.Insert(ctx, workflow.ResultsArgs{}, &opts)
		if err != nil {
			t.Fatal(err)
		}
		jobID = res.Job.ID
		return !res.UniqueSkippedAsDuplicate
	})
	// As a pull whose process died: running, attempted long ago by a client
	// that no longer exists.
	if _, err := e.app.Pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() - interval '1 minute',
		attempted_by = ARRAY['dead-worker'], scheduled_at = now() - interval '1 minute' WHERE id = $1`, jobID); err != nil {
		t.Fatal(err)
	}
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(1, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	id := e.submitReferral(links, &patient)
	e.waitState(id, "result_received")
	var state rivertype.JobState
	if err := e.app.Pool.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, jobID).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != rivertype.JobStateRunning {
		t.Fatalf("the orphan was %s, not left running as a dead worker leaves it: the test proves nothing", state)
	}
}
