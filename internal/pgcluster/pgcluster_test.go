package pgcluster

import (
	"context"
	"testing"
)

// TestStartStop proves a private cluster starts (also as root, via the
// postgres user), accepts connections and stops.
func TestStartStop(t *testing.T) {
	ctx := context.Background()
	c, err := Start(ctx, Options{Database: "probe"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := ping(ctx, c.URL); err != nil {
		c.Stop()
		t.Fatalf("ping: %v", err)
	}
	if err := CreateDatabase(ctx, c.AdminURL, "probe"); err != nil {
		t.Fatalf("create existing database must be a no-op: %v", err)
	}
	if err := DropDatabase(ctx, c.AdminURL, "probe"); err != nil {
		t.Fatalf("drop: %v", err)
	}
	c.Stop()
	if err := ping(ctx, c.AdminURL); err == nil {
		t.Fatal("server still answers after Stop")
	}
}
