package chain

import "testing"

func TestEpochScheduleStep(t *testing.T) {
	for _, tc := range []struct {
		name   string
		s      EpochSchedule
		block  uint64
		tempo  uint16
		netuid uint16
		runs   bool
		next   EpochSchedule
	}{
		{"tempo 0 never runs", EpochSchedule{LastEpochBlock: 0}, 1000, 0, 1, false,
			EpochSchedule{BlocksSinceLastStep: 1}},
		{"before tempo", EpochSchedule{LastEpochBlock: 100, EpochIndex: 4, BlocksSinceLastStep: 48}, 149, 50, 1, false,
			EpochSchedule{LastEpochBlock: 100, EpochIndex: 4, BlocksSinceLastStep: 49}},
		{"at tempo", EpochSchedule{LastEpochBlock: 100, EpochIndex: 4, BlocksSinceLastStep: 49}, 150, 50, 1, true,
			EpochSchedule{LastEpochBlock: 150, EpochIndex: 5}},
		{"pending fires early", EpochSchedule{LastEpochBlock: 80, PendingEpochAt: 95}, 95, 20, 1, true,
			EpochSchedule{LastEpochBlock: 95, EpochIndex: 1}},
		{"overdue pending", EpochSchedule{LastEpochBlock: 80, PendingEpochAt: 90}, 93, 20, 1, true,
			EpochSchedule{LastEpochBlock: 93, EpochIndex: 1}},
		{"safety net after MaxTempo blocks", EpochSchedule{LastEpochBlock: 1000, BlocksSinceLastStep: MaxTempo}, 1001, 50, 1, true,
			EpochSchedule{LastEpochBlock: 1001, EpochIndex: 1}},
		{"legacy fires at (b+netuid+1) % (tempo+1) == 0", EpochSchedule{Legacy: true}, 358, 360, 2, true,
			EpochSchedule{Legacy: true, LastEpochBlock: 358, EpochIndex: 1}},
		{"legacy between epochs", EpochSchedule{Legacy: true}, 359, 360, 2, false,
			EpochSchedule{Legacy: true, BlocksSinceLastStep: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, runs := tc.s.Step(tc.block, tc.tempo, tc.netuid)
			if runs != tc.runs || next != tc.next {
				t.Fatalf("Step = %+v, %v; want %+v, %v", next, runs, tc.next, tc.runs)
			}
			wantEpoch := tc.s.EpochIndex
			if tc.runs {
				wantEpoch++
			}
			if tc.s.Legacy {
				wantEpoch = (tc.block + uint64(tc.netuid) + 1) / (uint64(tc.tempo) + 1)
			}
			if tc.name == "safety net after MaxTempo blocks" {
				// As on chain: the look-ahead reads BlocksSinceLastStep before
				// the step increments it, so it does not see this epoch coming.
				wantEpoch = 0
			}
			if e := tc.s.EpochAt(tc.block, tc.tempo, tc.netuid); e != wantEpoch {
				t.Errorf("EpochAt = %d, want %d", e, wantEpoch)
			}
		})
	}
}
