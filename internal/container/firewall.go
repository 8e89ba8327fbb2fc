package container

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Options of a lease's own Docker network: a bridge of a known name (so the firewall can
// name it) on which containers cannot talk to each other. Docker's own isolation rules
// already drop traffic between different bridge networks.
const (
	bridgeNameOption = "com.docker.network.bridge.name"
	bridgeICCOption  = "com.docker.network.bridge.enable_icc"
	bridgePrefix     = "cl-"
	linkLocalNet     = "169.254.0.0/16" // cloud metadata services live here
)

// bridgeName is the host interface of a lease's network: "cl-" and 12 hex digits of the
// lease id (Linux allows 15 characters).
func bridgeName(leaseID string) string {
	if len(leaseID) > 12 {
		leaseID = leaseID[:12]
	}
	return bridgePrefix + leaseID
}

// firewall keeps a lease off the host's own services. The real one uses iptables; unit
// tests replace it.
type firewall interface {
	// Support says whether the rules can be managed here, and if not why.
	Support() (bool, string)
	// Isolate installs the rules of one lease bridge; doing it twice changes nothing.
	Isolate(ctx context.Context, bridge string) error
	// Release removes them; rules already gone are fine.
	Release(ctx context.Context, bridge string) error
}

// iptablesFirewall gives each lease bridge a chain, jumped to from INPUT for packets
// arriving on that bridge: replies to connections the host opened (the SSH port's
// proxy) go on, everything else the lease sends to any of the host's addresses is
// rejected. In DOCKER-USER (forwarded traffic) it rejects the link-local range, where
// cloud providers serve instance metadata and credentials. The rest of the forwarded
// traffic (the internet, for package installs) is left to Docker's rules.
type iptablesFirewall struct{}

// chainName is the lease bridge's INPUT chain ("COMPUTE-cl-…", under iptables' 28).
func chainName(bridge string) string { return "COMPUTE-" + bridge }

func (iptablesFirewall) Support() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "the miner does not run as root, which managing iptables rules needs"
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return false, "iptables is not installed"
	}
	return true, ""
}

func iptables(ctx context.Context, args ...string) error {
	return run(ctx, "iptables", append([]string{"-w", "10"}, args...)...)
}

// ensureRule appends (or with insert, puts first) a rule unless it is there already.
func ensureRule(ctx context.Context, chain string, insert bool, rule ...string) error {
	if iptables(ctx, append([]string{"-C", chain}, rule...)...) == nil {
		return nil
	}
	op := []string{"-A", chain}
	if insert {
		op = []string{"-I", chain, "1"}
	}
	return iptables(ctx, append(op, rule...)...)
}

func (iptablesFirewall) Isolate(ctx context.Context, bridge string) error {
	chain := chainName(bridge)
	comment := []string{"-m", "comment", "--comment", "compute lease " + bridge}
	out, err := exec.CommandContext(ctx, "iptables", "-w", "10", "-S", chain).Output()
	switch {
	case err != nil:
		if err := iptables(ctx, "-N", chain); err != nil {
			return fmt.Errorf("firewall the lease network: %w", err)
		}
	case !chainInOrder(string(out)):
		// Rebuilt only when it is not as made: a restart leaves a good chain alone,
		// with no moment where it is empty.
		if err := iptables(ctx, "-F", chain); err != nil {
			return fmt.Errorf("firewall the lease network: %w", err)
		}
	}
	steps := []struct {
		chain  string
		insert bool
		rule   []string
	}{
		{chain, false, append([]string{"-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"}, comment...)},
		{chain, false, append([]string{"-j", "REJECT", "--reject-with", "icmp-port-unreachable"}, comment...)},
		{"INPUT", true, append([]string{"-i", bridge, "-j", chain}, comment...)},
		{"DOCKER-USER", true, append([]string{"-i", bridge, "-d", linkLocalNet, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"}, comment...)},
	}
	for _, s := range steps {
		if s.chain == "DOCKER-USER" && iptables(ctx, "-S", "DOCKER-USER") != nil {
			continue // Docker manages no iptables rules here; nothing forwards through it
		}
		if err := ensureRule(ctx, s.chain, s.insert, s.rule...); err != nil {
			return fmt.Errorf("firewall the lease network: %w", err)
		}
	}
	return nil
}

// chainInOrder reports whether a lease chain, as iptables -S prints it, holds the
// RETURN of established traffic and then the REJECT, and nothing else.
func chainInOrder(listing string) bool {
	var rules []string
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		if strings.HasPrefix(line, "-A ") {
			rules = append(rules, line)
		}
	}
	return len(rules) == 2 && strings.Contains(rules[0], "ESTABLISHED") && strings.HasSuffix(rules[0], "-j RETURN") &&
		strings.Contains(rules[1], "-j REJECT")
}

func (iptablesFirewall) Release(ctx context.Context, bridge string) error {
	chain := chainName(bridge)
	comment := []string{"-m", "comment", "--comment", "compute lease " + bridge}
	jumps := []struct {
		chain string
		rule  []string
	}{
		{"INPUT", append([]string{"-i", bridge, "-j", chain}, comment...)},
		{"DOCKER-USER", append([]string{"-i", bridge, "-d", linkLocalNet, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"}, comment...)},
	}
	for _, j := range jumps {
		for i := 0; i < 16 && iptables(ctx, append([]string{"-C", j.chain}, j.rule...)...) == nil; i++ {
			if err := iptables(ctx, append([]string{"-D", j.chain}, j.rule...)...); err != nil {
				return fmt.Errorf("remove the lease network's firewall rules: %w", err)
			}
		}
	}
	if iptables(ctx, "-S", chain) == nil {
		if err := iptables(ctx, "-F", chain); err != nil {
			return fmt.Errorf("remove the lease network's firewall rules: %w", err)
		}
		if err := iptables(ctx, "-X", chain); err != nil && !strings.Contains(err.Error(), "No chain") {
			return fmt.Errorf("remove the lease network's firewall rules: %w", err)
		}
	}
	return nil
}
