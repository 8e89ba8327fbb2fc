package validator

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sn27/compute/internal/chain"
)

// Exclusion says why a neuron is not queried.
type Exclusion string

// Exclusion reasons, bounded (usable as metric labels).
const (
	ExcludedSelf        Exclusion = "self"
	ExcludedNoAxon      Exclusion = "no_axon"      // never served, 0.0.0.0, or port 0
	ExcludedValidator   Exclusion = "validator"    // stake at or above the miner limit
	ExcludedBlacklisted Exclusion = "blacklisted"  // hotkey, coldkey or exploiter list
	ExcludedSameIP      Exclusion = "duplicate_ip" // another uid was seen first on this IP
	ExcludedOutdated    Exclusion = "outdated"     // below the minimal miner version once the quorum is reached
)

// Describe is the reason in words, for tables and logs.
func (e Exclusion) Describe() string {
	switch e {
	case ExcludedSelf:
		return "this validator"
	case ExcludedNoAxon:
		return "no axon served (0.0.0.0 or port 0)"
	case ExcludedValidator:
		return "validator (stake at or above the miner limit)"
	case ExcludedBlacklisted:
		return "blacklisted"
	case ExcludedSameIP:
		return "duplicate IP (a lower uid uses it)"
	case ExcludedOutdated:
		return "outdated miner version"
	}
	return string(e)
}

// Selection is the outcome of the queryable filter.
type Selection struct {
	// Queryable miners in uid order.
	Queryable []chain.Neuron
	// Excluded gives the reason of every other uid.
	Excluded map[uint16]Exclusion
	// UpdatedPercent is the share of candidate miners (served, not
	// blacklisted, one per IP) running at least the minimal version.
	UpdatedPercent float64
	// VersionFiltered reports whether the quorum was reached and outdated
	// miners were left out.
	VersionFiltered bool
}

// lists is the filter's sets, built once per configuration.
type lists struct {
	blackHot, blackCold, whiteHot, whiteCold map[string]bool
}

func newLists(f FilterConfig) lists {
	set := func(groups ...[]string) map[string]bool {
		m := map[string]bool{}
		for _, g := range groups {
			for _, k := range g {
				if k = strings.TrimSpace(k); k != "" {
					m[k] = true
				}
			}
		}
		return m
	}
	return lists{
		blackHot:  set(f.BlacklistHotkeys, f.Exploiters),
		blackCold: set(f.BlacklistColdkeys),
		whiteHot:  set(f.WhitelistHotkeys),
		whiteCold: set(f.WhitelistColdkeys),
	}
}

func (l lists) whitelisted(n *chain.Neuron) bool {
	return l.whiteHot[n.Hotkey] || l.whiteCold[n.Coldkey]
}

func (l lists) blacklisted(n *chain.Neuron) bool {
	if l.whitelisted(n) {
		return false
	}
	return l.blackHot[n.Hotkey] || l.blackCold[n.Coldkey]
}

// served reports whether a neuron announces a usable axon.
func served(n *chain.Neuron) bool {
	if n.Axon.Port == 0 {
		return false
	}
	ip, err := netip.ParseAddr(n.Axon.IP)
	return err == nil && !ip.IsUnspecified()
}

// SelectQueryable applies the queryable filter to a metagraph, in uid order:
// not this validator (self), a served axon (not 0.0.0.0), total stake below
// cfg.MaxMinerStake, not blacklisted (whitelists win), one uid per IP (the
// lowest uid wins) unless Filter.OnePerIP is false, and the version filter: when
// more than Filter.UpdatedThreshold percent of those candidates run at least
// Filter.MinMinerVersion, only they (and whitelisted miners, and miners
// announcing no version when WhitelistUnrecognized) are queried.
func SelectQueryable(cfg Config, mg *chain.Metagraph, self string) Selection {
	sel := Selection{Excluded: map[uint16]Exclusion{}}
	if mg == nil {
		return sel
	}
	ls := newLists(cfg.Filter)
	neurons := slices.Clone(mg.Neurons)
	slices.SortFunc(neurons, func(a, b chain.Neuron) int { return int(a.UID) - int(b.UID) })
	seenIP := map[string]bool{}
	var cands []chain.Neuron
	for i := range neurons {
		n := &neurons[i]
		switch {
		case self != "" && n.Hotkey == self:
			sel.Excluded[n.UID] = ExcludedSelf
		case !served(n):
			sel.Excluded[n.UID] = ExcludedNoAxon
		case n.Stake >= cfg.MaxMinerStake:
			sel.Excluded[n.UID] = ExcludedValidator
		case ls.blacklisted(n):
			sel.Excluded[n.UID] = ExcludedBlacklisted
		case cfg.Filter.OnePerIP && seenIP[n.Axon.IP]:
			sel.Excluded[n.UID] = ExcludedSameIP
		default:
			seenIP[n.Axon.IP] = true
			cands = append(cands, *n)
		}
	}
	if len(cands) == 0 {
		return sel
	}
	updated := 0
	for _, n := range cands {
		if n.Axon.Version >= cfg.Filter.MinMinerVersion {
			updated++
		}
	}
	sel.UpdatedPercent = 100 * float64(updated) / float64(len(cands))
	if sel.UpdatedPercent <= cfg.Filter.UpdatedThreshold {
		sel.Queryable = cands
		return sel
	}
	sel.VersionFiltered = true
	for _, n := range cands {
		keep := n.Axon.Version >= cfg.Filter.MinMinerVersion ||
			ls.whitelisted(&n) ||
			(cfg.Filter.WhitelistUnrecognized && n.Axon.Version == 0)
		if keep {
			sel.Queryable = append(sel.Queryable, n)
		} else {
			sel.Excluded[n.UID] = ExcludedOutdated
		}
	}
	return sel
}

// NetworkVersion returns the highest axon version that more than threshold
// percent of the served neurons run at least (0 when none is served). The
// validator logs when it is above its own version: the network has moved on.
func NetworkVersion(mg *chain.Metagraph, threshold float64) uint32 {
	if mg == nil {
		return 0
	}
	var versions []uint32
	for i := range mg.Neurons {
		if served(&mg.Neurons[i]) {
			versions = append(versions, mg.Neurons[i].Axon.Version)
		}
	}
	if len(versions) == 0 {
		return 0
	}
	// Highest first: the k-th highest is run "at least" by k+1 neurons.
	slices.SortFunc(versions, func(a, b uint32) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	for k, v := range versions {
		if 100*float64(k+1)/float64(len(versions)) > threshold {
			return v
		}
	}
	return versions[len(versions)-1]
}

// ExcludedSummary says which uids are left out and why, grouped by reason in
// the order of the reasons' names, e.g. "duplicate_ip: 2 3; self: 0". A
// reason lists at most eight uids and then how many more; "" when none.
func (s Selection) ExcludedSummary() string {
	by := map[Exclusion][]uint16{}
	for uid, why := range s.Excluded {
		by[why] = append(by[why], uid)
	}
	reasons := make([]Exclusion, 0, len(by))
	for why := range by {
		reasons = append(reasons, why)
	}
	slices.Sort(reasons)
	var b strings.Builder
	for i, why := range reasons {
		if i > 0 {
			b.WriteString("; ")
		}
		uids := by[why]
		slices.Sort(uids)
		b.WriteString(string(why))
		b.WriteByte(':')
		for j, uid := range uids {
			if j == 8 {
				fmt.Fprintf(&b, " +%d more", len(uids)-j)
				break
			}
			fmt.Fprintf(&b, " %d", uid)
		}
	}
	return b.String()
}
