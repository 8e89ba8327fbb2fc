package validator

import (
	"testing"

	"github.com/sn27/compute/internal/chain"
)

func neuron(uid uint16, hot, cold, ip string, port uint16, ver uint32, stake float64) chain.Neuron {
	return chain.Neuron{UID: uid, Hotkey: hot, Coldkey: cold, Stake: stake,
		Axon: chain.AxonInfo{IP: ip, Port: port, Version: ver, IPType: 4}}
}

func uids(ns []chain.Neuron) []uint16 {
	out := []uint16{}
	for _, n := range ns {
		out = append(out, n.UID)
	}
	return out
}

func TestSelectQueryable(t *testing.T) {
	base := []chain.Neuron{
		neuron(0, "val", "vc", "10.0.0.1", 8091, 142, 5000),
		neuron(1, "m1", "c1", "10.0.0.2", 8091, 142, 0),
		neuron(2, "m2", "c2", "0.0.0.0", 8091, 142, 0),
		neuron(3, "m3", "c3", "10.0.0.3", 8091, 142, 1023.9),
		neuron(4, "m4", "c4", "10.0.0.2", 9000, 142, 0), // same IP as uid 1
		neuron(5, "m5", "bad", "10.0.0.5", 8091, 142, 0),
		neuron(6, "m6", "c6", "10.0.0.6", 0, 142, 0),
		neuron(7, "m7", "c7", "10.0.0.7", 8091, 100, 0), // outdated
		neuron(8, "m8", "c8", "10.0.0.8", 8091, 0, 0),   // no version
		neuron(9, "self", "sc", "10.0.0.9", 8091, 142, 0),
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		neurons []chain.Neuron
		want    []uint16
		why     map[uint16]Exclusion
		vf      bool
	}{
		{
			name: "defaults",
			// candidates 1,3,5?,7,8 -> 5 blacklisted below; updated 1,3 of 1,3,5,7,8
			mutate:  func(c *Config) { c.Filter.BlacklistColdkeys = []string{"bad"} },
			neurons: base,
			want:    []uint16{1, 3, 7, 8},
			why: map[uint16]Exclusion{0: ExcludedValidator, 2: ExcludedNoAxon, 4: ExcludedSameIP,
				5: ExcludedBlacklisted, 6: ExcludedNoAxon, 9: ExcludedSelf},
		},
		{
			name:    "quorum reached filters outdated",
			mutate:  func(c *Config) { c.Filter.UpdatedThreshold = 40 },
			neurons: base,
			want:    []uint16{1, 3, 5},
			why:     map[uint16]Exclusion{7: ExcludedOutdated, 8: ExcludedOutdated},
			vf:      true,
		},
		{
			name: "unrecognized and whitelisted survive the version filter",
			mutate: func(c *Config) {
				c.Filter.UpdatedThreshold = 40
				c.Filter.WhitelistUnrecognized = true
				c.Filter.WhitelistHotkeys = []string{"m7"}
			},
			neurons: base,
			want:    []uint16{1, 3, 5, 7, 8},
			vf:      true,
		},
		{
			name: "whitelist beats blacklist; exploiters blocked",
			mutate: func(c *Config) {
				c.Filter.BlacklistColdkeys = []string{"bad", "c1"}
				c.Filter.WhitelistColdkeys = []string{"bad"}
				c.Filter.Exploiters = []string{" m3 "}
			},
			neurons: base,
			want:    []uint16{4, 5, 7, 8},
			why:     map[uint16]Exclusion{1: ExcludedBlacklisted, 3: ExcludedBlacklisted},
		},
		{
			name:    "one per IP off",
			mutate:  func(c *Config) { c.Filter.OnePerIP = false },
			neurons: base,
			want:    []uint16{1, 3, 4, 5}, // 4 of 6 updated: above 60 %
			vf:      true,
		},
		{
			name:    "first uid wins whatever the order",
			neurons: []chain.Neuron{neuron(9, "a", "", "1.2.3.4", 1, 142, 0), neuron(2, "b", "", "1.2.3.4", 2, 142, 0)},
			want:    []uint16{2},
			why:     map[uint16]Exclusion{9: ExcludedSameIP},
			vf:      true,
		},
		{
			name:    "garbage ip",
			neurons: []chain.Neuron{neuron(1, "a", "", "not-an-ip", 1, 142, 0), neuron(2, "b", "", "", 1, 142, 0)},
			want:    []uint16{},
			why:     map[uint16]Exclusion{1: ExcludedNoAxon, 2: ExcludedNoAxon},
		},
		{name: "empty", want: []uint16{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.mutate != nil {
				tc.mutate(&cfg)
			}
			sel := SelectQueryable(cfg, &chain.Metagraph{Neurons: tc.neurons}, "self")
			got := uids(sel.Queryable)
			if len(got) != len(tc.want) {
				t.Fatalf("queryable %v, want %v (excluded %v)", got, tc.want, sel.Excluded)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("queryable %v, want %v (excluded %v)", got, tc.want, sel.Excluded)
				}
			}
			for uid, why := range tc.why {
				if sel.Excluded[uid] != why {
					t.Errorf("uid %d excluded as %q, want %q", uid, sel.Excluded[uid], why)
				}
			}
			if sel.VersionFiltered != tc.vf {
				t.Errorf("version filtered %v, want %v (%.1f%% updated)", sel.VersionFiltered, tc.vf, sel.UpdatedPercent)
			}
		})
	}
	if sel := SelectQueryable(DefaultConfig(), nil, ""); len(sel.Queryable) != 0 {
		t.Fatal("nil metagraph gave miners")
	}
}

func TestNetworkVersion(t *testing.T) {
	mk := func(vs ...uint32) *chain.Metagraph {
		mg := &chain.Metagraph{}
		for i, v := range vs {
			mg.Neurons = append(mg.Neurons, neuron(uint16(i), "h", "c", "10.0.0.1", 1, v, 0))
		}
		return mg
	}
	tests := []struct {
		name string
		mg   *chain.Metagraph
		thr  float64
		want uint32
	}{
		{"nil", nil, 60, 0},
		{"none served", &chain.Metagraph{Neurons: []chain.Neuron{neuron(0, "h", "c", "0.0.0.0", 1, 200, 0)}}, 60, 0},
		{"all same", mk(142, 142, 142), 60, 142},
		{"majority newer", mk(150, 150, 150, 142), 60, 150},
		{"newer minority", mk(150, 142, 142, 142), 60, 142},
		{"exactly at threshold is not more", mk(150, 150, 150, 142, 142), 60, 142},
		{"mixed", mk(160, 150, 150, 142, 100), 50, 150},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NetworkVersion(tc.mg, tc.thr); got != tc.want {
				t.Fatalf("NetworkVersion = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestExcludedSummary(t *testing.T) {
	many := map[uint16]Exclusion{}
	for uid := uint16(20); uid > 9; uid-- {
		many[uid] = ExcludedNoAxon
	}
	tests := []struct {
		name string
		ex   map[uint16]Exclusion
		want string
	}{
		{"none", nil, ""},
		{"grouped and sorted", map[uint16]Exclusion{3: ExcludedSameIP, 0: ExcludedSelf, 2: ExcludedSameIP}, "duplicate_ip: 2 3; self: 0"},
		{"capped at eight uids", many, "no_axon: 10 11 12 13 14 15 16 17 +3 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Selection{Excluded: tt.ex}).ExcludedSummary(); got != tt.want {
				t.Errorf("ExcludedSummary() = %q, want %q", got, tt.want)
			}
		})
	}
}
