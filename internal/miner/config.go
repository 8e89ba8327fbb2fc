package miner

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/pow/hashcat"
	"github.com/sn27/compute/internal/pow/pick"
	"github.com/sn27/compute/internal/version"
)

// Defaults of Config.
const (
	DefaultAxonPort         = 8091
	DefaultUpdatedThreshold = 60
	DefaultSyncInterval     = time.Minute
	DefaultSpecsInterval    = 10 * time.Minute
	// DefaultMetricsAddr is where `compute miner` serves the miner's metrics.
	DefaultMetricsAddr = "127.0.0.1:9100"
)

// Config is everything the operator chooses for a miner (the `compute miner` flags).
type Config struct {
	// Netuid is the subnet served.
	Netuid uint16
	// AxonIP is the address the axon listens on ("" or "0.0.0.0": all); the caller opens
	// Deps.Listener there (AxonListenAddr).
	AxonIP string
	// AxonPort is the axon's port (default 8091; 0 picks a free one, for tests), where the
	// caller opens Deps.Listener.
	AxonPort int
	// ExternalIP is the IP announced on chain ("": AxonIP when it is a concrete address,
	// else the address of the interface holding the default route).
	ExternalIP string
	// ExternalPort is the port announced on chain (0: the port listened on).
	ExternalPort int
	// LocalChain says the chain is a local or development one (localnet,
	// local subtensor): the start log then says which IP is announced when it
	// is the default route's, and how to choose another.
	LocalChain bool

	Policy PolicyConfig

	// Solver names the proof-of-work solver: auto, cpu, cuda or hashcat.
	Solver string
	// Hashcat configures the hashcat solver.
	Hashcat hashcat.Options
	// SolveTimeout bounds a solve beyond the request's own timeout (0: pow.DefaultTimeout).
	SolveTimeout time.Duration
	// QueueLength bounds the challenges waiting for the solver (0: the pow default).
	QueueLength int

	// Allocation offers this machine for allocation (Docker leases).
	Allocation bool
	// AllocationRequired makes a Docker that cannot run lease containers fatal at start.
	AllocationRequired bool
	// Image is the lease image (default container.DefaultImage).
	Image string
	// SSHPort is the host port of the lease's SSH (default 4444).
	SSHPort int
	// SSHBindIP restricts the lease SSH port to one host address ("": all).
	SSHBindIP string
	// LeaseOwner labels this miner's containers (default "miner-<hotkey>").
	LeaseOwner string

	// DataDir holds the lease state and the specs probe file (created 0700).
	DataDir string
	// SyncInterval is how often the metagraph is refreshed and the served axon checked.
	SyncInterval time.Duration
	// SpecsInterval is how often the specs report is taken again.
	SpecsInterval time.Duration
	// SpecsProbeBytes sizes the disk and memory speed probes (0: the specs default, < 0 none).
	SpecsProbeBytes int64
}

// DefaultDataDir is ~/.bittensor/compute/miner/<wallet>/<hotkey>/netuid<N>.
func DefaultDataDir(walletName, hotkey string, netuid uint16) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", config.Errorf("miner.Config.DataDir", "no default without a home directory: %w", err)
	}
	return filepath.Join(home, ".bittensor", "compute", "miner", walletName, hotkey, "netuid"+strconv.Itoa(int(netuid))), nil
}

// AxonListenAddr is the address to open Deps.Listener on: AxonIP and AxonPort.
func (c Config) AxonListenAddr() string {
	return net.JoinHostPort(c.AxonIP, strconv.Itoa(c.AxonPort))
}

// Validate reports a setting the miner cannot run with (New checks it too), so that a
// caller can check cfg before it opens the axon's listener.
func (c Config) Validate() error { return c.setDefaults() }

func (c *Config) setDefaults() error {
	if c.AxonPort < 0 || c.AxonPort > 65535 {
		return config.Errorf("miner.Config.AxonPort", "%d is not a port", c.AxonPort)
	}
	if c.ExternalPort < 0 || c.ExternalPort > 65535 {
		return config.Errorf("miner.Config.ExternalPort", "%d is not a port", c.ExternalPort)
	}
	for field, ip := range map[string]string{"miner.Config.AxonIP": c.AxonIP, "miner.Config.ExternalIP": c.ExternalIP, "miner.Config.SSHBindIP": c.SSHBindIP} {
		if ip == "" {
			continue
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			return config.Errorf(field, "%q is not an IP address", ip)
		}
	}
	if c.Solver == "" {
		c.Solver = "auto"
	}
	known := false
	for _, n := range pick.Names {
		known = known || n == c.Solver
	}
	if !known {
		return config.Errorf("miner.Config.Solver", "%q is unknown (want one of %v)", c.Solver, pick.Names)
	}
	if c.SSHPort == 0 {
		c.SSHPort = container.DefaultSSHPort
	}
	if c.SSHPort < 1 || c.SSHPort > 65535 {
		return config.Errorf("miner.Config.SSHPort", "%d is not a port", c.SSHPort)
	}
	if c.Image == "" {
		c.Image = container.DefaultImage
	}
	if c.DataDir == "" {
		return config.Errorf("miner.Config.DataDir", "a data directory is required")
	}
	if c.Policy.UpdatedThreshold < 0 || c.Policy.UpdatedThreshold > 100 {
		return config.Errorf("miner.Config.Policy.UpdatedThreshold", "%v must be between 0 and 100 (percent)", c.Policy.UpdatedThreshold)
	}
	if c.Policy.MinValidatorVersion == 0 {
		c.Policy.MinValidatorVersion = version.Int
	}
	if c.Policy.PermitStake == 0 {
		c.Policy.PermitStake = ValidatorPermitStake
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.SpecsInterval <= 0 {
		c.SpecsInterval = DefaultSpecsInterval
	}
	return nil
}
