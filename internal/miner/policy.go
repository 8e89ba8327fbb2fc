package miner

import (
	"fmt"

	"github.com/sn27/compute/internal/chain"
)

// ValidatorPermitStake is the original's validator_permit_stake in TAO: callers below it
// are not validators.
const ValidatorPermitStake = 1024.0

// Synapse priorities of the original miner, added to the caller's stake.
const (
	PrioritySpecs     = 1.0
	PriorityChallenge = 2.0
	PriorityAllocate  = 3.0
)

// Refusal reasons, sent to the caller after "Forbidden. Key is blacklisted: ".
const (
	ReasonUnrecognized     = "Unrecognized hotkey"
	ReasonNotEnoughStake   = "Not enough stake"
	ReasonBlacklistHotkey  = "Blacklisted hotkey"
	ReasonBlacklistColdkey = "Blacklisted coldkey"
	ReasonExploiter        = "Suspected exploiter hotkey"
	ReasonNotUpdated       = "Validator not running the minimal version"
)

// PolicyConfig are the filtering options of the miner (the --blacklist.*, --whitelist.*
// and --miner.whitelist.* flags).
type PolicyConfig struct {
	BlacklistHotkeys  []string
	BlacklistColdkeys []string
	WhitelistHotkeys  []string
	WhitelistColdkeys []string
	// BlacklistExploiters refuses the built-in suspected exploiters (plus Exploiters).
	BlacklistExploiters bool
	// Exploiters extends the built-in list.
	Exploiters []string
	// WhitelistNotEnoughStake accepts registered callers below PermitStake.
	WhitelistNotEnoughStake bool
	// WhitelistNotUpdated accepts validators below MinValidatorVersion even when the quorum is met.
	WhitelistNotUpdated bool
	// UpdatedThreshold is the quorum in percent: when more than this share of validators
	// runs MinValidatorVersion, only those are served (default 60).
	UpdatedThreshold float64
	// MinValidatorVersion is the minimal validator version int (default version.Int).
	MinValidatorVersion int64
	// PermitStake is the validator permit stake in TAO (default ValidatorPermitStake).
	PermitStake float64
	// RequireHashedAllocate refuses (401) an Allocate whose signed body hash does not
	// cover timeline, device_requirement, checking, public_key and docker_requirement
	// (wire.CoveredFields), as this project's renters and validators send it. Requests
	// from the original subnet's Python peers, which cover nothing, are then refused.
	RequireHashedAllocate bool
}

type caller struct {
	stake   float64
	coldkey string
}

// Policy is an immutable snapshot of who may call this miner, built from a metagraph.
// It is safe for concurrent use; the sync loop replaces it as a whole.
type Policy struct {
	cfg       PolicyConfig
	neurons   map[string]caller
	whiteHot  map[string]bool
	whiteCold map[string]bool
	blackHot  map[string]bool
	blackCold map[string]bool
	exploit   map[string]bool
	// updated holds the validators running the minimal version, nil when the quorum is
	// not met (everyone is allowed).
	updated map[string]bool
	// Validators and UpToDate count the validators (stake above the permit) and those at
	// the minimal version, for logs.
	Validators, UpToDate int
	Block                uint64
}

func set(keys ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, ks := range keys {
		for _, k := range ks {
			if k != "" {
				m[k] = true
			}
		}
	}
	return m
}

// NewPolicy builds the policy for a metagraph (nil: nobody is registered).
func NewPolicy(cfg PolicyConfig, mg *chain.Metagraph) *Policy {
	if cfg.PermitStake <= 0 {
		cfg.PermitStake = ValidatorPermitStake
	}
	p := &Policy{
		cfg:       cfg,
		neurons:   map[string]caller{},
		whiteHot:  set(cfg.WhitelistHotkeys),
		whiteCold: set(cfg.WhitelistColdkeys),
		blackHot:  set(cfg.BlacklistHotkeys),
		blackCold: set(cfg.BlacklistColdkeys),
		exploit:   map[string]bool{},
	}
	if cfg.BlacklistExploiters {
		p.exploit = set(chain.Exploiters(), cfg.Exploiters)
	}
	if mg == nil {
		return p
	}
	p.Block = mg.Block
	updated := map[string]bool{}
	for _, n := range mg.Neurons {
		p.neurons[n.Hotkey] = caller{stake: n.Stake, coldkey: n.Coldkey}
		if n.Stake <= cfg.PermitStake {
			continue
		}
		p.Validators++
		v := int64(max(n.PrometheusVersion, n.Axon.Version))
		if v >= cfg.MinValidatorVersion {
			p.UpToDate++
			updated[n.Hotkey] = true
		}
	}
	// As the original: the version filter starts once strictly more than the threshold
	// of validators is up to date.
	if p.Validators > 0 && 100*float64(p.UpToDate)/float64(p.Validators) > cfg.UpdatedThreshold {
		p.updated = updated
	}
	return p
}

// VersionFilterActive reports whether the quorum of up-to-date validators is met.
func (p *Policy) VersionFilterActive() bool { return p.updated != nil }

// Stake is the caller's stake in TAO (0 when unregistered).
func (p *Policy) Stake(hotkey string) float64 { return p.neurons[hotkey].stake }

// Blacklist decides whether hotkey is refused and why. Whitelisted hot- or coldkeys win
// over every other rule.
func (p *Policy) Blacklist(hotkey string) (bool, string) {
	n, registered := p.neurons[hotkey]
	if p.whiteHot[hotkey] || (registered && p.whiteCold[n.coldkey]) {
		return false, "whitelisted"
	}
	if !registered {
		return true, ReasonUnrecognized
	}
	if n.stake < p.cfg.PermitStake && !p.cfg.WhitelistNotEnoughStake {
		return true, fmt.Sprintf("%s (%.2f TAO < %.0f TAO)", ReasonNotEnoughStake, n.stake, p.cfg.PermitStake)
	}
	if p.blackHot[hotkey] {
		return true, ReasonBlacklistHotkey
	}
	if p.blackCold[n.coldkey] {
		return true, ReasonBlacklistColdkey
	}
	if p.exploit[hotkey] {
		return true, ReasonExploiter
	}
	if p.updated != nil && !p.cfg.WhitelistNotUpdated && !p.updated[hotkey] {
		return true, ReasonNotUpdated
	}
	return false, "recognized"
}
