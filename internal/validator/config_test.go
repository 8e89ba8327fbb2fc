package validator

import "testing"

func TestStoreConfigFollowsFailureWindow(t *testing.T) {
	for _, tc := range []struct {
		window, wantRecent, wantCap int
	}{{20, 20, 5000}, {40, 40, 5000}, {6000, 6000, 6000}} {
		cfg := DefaultConfig()
		cfg.Score.FailureWindow = tc.window
		sc := cfg.StoreConfig()
		if sc.RecentChallenges != tc.wantRecent || sc.MaxPerMiner != tc.wantCap {
			t.Errorf("window %d: recent %d cap %d, want %d and %d", tc.window, sc.RecentChallenges, sc.MaxPerMiner, tc.wantRecent, tc.wantCap)
		}
	}
}
