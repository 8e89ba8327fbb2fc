package miner

import (
	"strings"
	"testing"

	"github.com/sn27/compute/internal/chain"
)

func TestPolicyBlacklist(t *testing.T) {
	mg := &chain.Metagraph{Neurons: []chain.Neuron{
		{UID: 0, Hotkey: "val", Coldkey: "coldA", Stake: 2000, PrometheusVersion: 142},
		{UID: 1, Hotkey: "poor", Coldkey: "coldA", Stake: 10},
		{UID: 2, Hotkey: "badhot", Coldkey: "coldA", Stake: 5000, PrometheusVersion: 142},
		{UID: 3, Hotkey: "badcold", Coldkey: "coldB", Stake: 5000, PrometheusVersion: 142},
		{UID: 4, Hotkey: "exploiter", Coldkey: "coldA", Stake: 5000, PrometheusVersion: 142},
		{UID: 5, Hotkey: "old", Coldkey: "coldA", Stake: 5000, PrometheusVersion: 100},
		{UID: 6, Hotkey: "whitecold", Coldkey: "coldW", Stake: 1, PrometheusVersion: 1},
		{UID: 7, Hotkey: "axonver", Coldkey: "coldA", Stake: 3000, Axon: chain.AxonInfo{Version: 150}},
	}}
	base := PolicyConfig{
		BlacklistHotkeys:    []string{"badhot", "whitehot"},
		BlacklistColdkeys:   []string{"coldB", "coldW"},
		WhitelistHotkeys:    []string{"whitehot"},
		WhitelistColdkeys:   []string{"coldW"},
		BlacklistExploiters: true,
		Exploiters:          []string{"exploiter"},
		UpdatedThreshold:    60,
		MinValidatorVersion: 142,
	}
	tests := []struct {
		name    string
		mutate  func(*PolicyConfig)
		hotkey  string
		blocked bool
		reason  string
	}{
		{"validator", nil, "val", false, ""},
		{"unregistered", nil, "nobody", true, ReasonUnrecognized},
		{"low stake", nil, "poor", true, ReasonNotEnoughStake},
		{"low stake allowed by flag", func(c *PolicyConfig) { c.WhitelistNotEnoughStake = true; c.WhitelistNotUpdated = true }, "poor", false, ""},
		{"low stake allowed, then the version filter", func(c *PolicyConfig) { c.WhitelistNotEnoughStake = true }, "poor", true, ReasonNotUpdated},
		{"blacklisted hotkey", nil, "badhot", true, ReasonBlacklistHotkey},
		{"blacklisted coldkey", nil, "badcold", true, ReasonBlacklistColdkey},
		{"exploiter", nil, "exploiter", true, ReasonExploiter},
		{"exploiter list off", func(c *PolicyConfig) { c.BlacklistExploiters = false }, "exploiter", false, ""},
		// 5 of 6 validators (stake > 1024) run >= 142: 83% > 60%, so the filter is on.
		{"outdated validator", nil, "old", true, ReasonNotUpdated},
		{"outdated allowed by flag", func(c *PolicyConfig) { c.WhitelistNotUpdated = true }, "old", false, ""},
		{"quorum not met", func(c *PolicyConfig) { c.UpdatedThreshold = 90 }, "old", false, ""},
		{"axon version counts", nil, "axonver", false, ""},
		{"whitelisted unregistered hotkey wins", nil, "whitehot", false, ""},
		{"whitelisted coldkey wins over stake and blacklist", nil, "whitecold", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			if tc.mutate != nil {
				tc.mutate(&cfg)
			}
			p := NewPolicy(cfg, mg)
			blocked, reason := p.Blacklist(tc.hotkey)
			if blocked != tc.blocked || (tc.reason != "" && !strings.HasPrefix(reason, tc.reason)) {
				t.Fatalf("Blacklist(%s) = %v %q, want %v %q", tc.hotkey, blocked, reason, tc.blocked, tc.reason)
			}
		})
	}
}

func TestPolicyQuorumAndStake(t *testing.T) {
	mg := &chain.Metagraph{Neurons: []chain.Neuron{
		{Hotkey: "a", Stake: 2000, PrometheusVersion: 142},
		{Hotkey: "b", Stake: 2000, PrometheusVersion: 100},
		{Hotkey: "m", Stake: 5},
	}}
	// 1 of 2 = 50%: not above 60, everyone allowed.
	p := NewPolicy(PolicyConfig{UpdatedThreshold: 60, MinValidatorVersion: 142}, mg)
	if p.VersionFilterActive() || p.Validators != 2 || p.UpToDate != 1 {
		t.Fatalf("filter %v validators %d up to date %d", p.VersionFilterActive(), p.Validators, p.UpToDate)
	}
	// Exactly at the threshold is not above it.
	if NewPolicy(PolicyConfig{UpdatedThreshold: 50, MinValidatorVersion: 142}, mg).VersionFilterActive() {
		t.Fatal("50% of validators must not trigger a 50% threshold")
	}
	if !NewPolicy(PolicyConfig{UpdatedThreshold: 49, MinValidatorVersion: 142}, mg).VersionFilterActive() {
		t.Fatal("50% of validators must trigger a 49% threshold")
	}
	if got := p.Stake("a") + PriorityAllocate; got != 2003 {
		t.Fatalf("priority %v", got)
	}
	if p.Stake("unknown") != 0 {
		t.Fatal("unknown stake")
	}
	empty := NewPolicy(PolicyConfig{}, nil)
	if blocked, _ := empty.Blacklist("a"); !blocked {
		t.Fatal("an empty metagraph must refuse everyone")
	}
}
