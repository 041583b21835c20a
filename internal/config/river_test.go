package config

import (
	"testing"
	"time"
)

// TestRiverFetchSettings: River's fetch cooldown and poll interval are
// settings (defaults 20ms and 500ms, as the engine had them fixed), and a
// cooldown under 1ms or above the poll interval is refused.
func TestRiverFetchSettings(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || c.RiverFetchCooldown != 20*time.Millisecond || c.RiverFetchPollInterval != 500*time.Millisecond {
		t.Fatalf("defaults: %v %v %v", c.RiverFetchCooldown, c.RiverFetchPollInterval, err)
	}
	c, err = Load(env(map[string]string{"HUB_RIVER_FETCH_COOLDOWN": "5ms", "HUB_RIVER_FETCH_POLL_INTERVAL": "100ms"}))
	if err != nil || c.RiverFetchCooldown != 5*time.Millisecond || c.RiverFetchPollInterval != 100*time.Millisecond {
		t.Fatalf("set: %v %v %v", c.RiverFetchCooldown, c.RiverFetchPollInterval, err)
	}
	for _, bad := range []map[string]string{{"HUB_RIVER_FETCH_COOLDOWN": "500us"}, {"HUB_RIVER_FETCH_COOLDOWN": "1s"},
		{"HUB_RIVER_FETCH_POLL_INTERVAL": "10ms"}, {"HUB_RIVER_FETCH_COOLDOWN": "0s"}} {
		if _, err := Load(env(bad)); err == nil {
			t.Errorf("Load(%v) accepted", bad)
		}
	}
}
