package miner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/moby/moby/client"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/gpu"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/hashcat"
	"github.com/sn27/compute/internal/pow/pick"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/version"
)

// ErrNotRegistered is returned by Run when the hotkey holds no uid on the
// subnet (a *NotRegisteredError says which).
var ErrNotRegistered = errors.New("miner: hotkey not registered on the subnet")

// NotRegisteredError is the hotkey and subnet of ErrNotRegistered; the hotkey
// must be registered (which burns the registration cost from its coldkey)
// before the miner can serve.
type NotRegisteredError struct {
	Hotkey string
	Netuid uint16
}

func (e *NotRegisteredError) Error() string {
	return fmt.Sprintf("%v: hotkey %s holds no uid on netuid %d", ErrNotRegistered, e.Hotkey, e.Netuid)
}

// Is makes errors.Is(err, ErrNotRegistered) hold.
func (e *NotRegisteredError) Is(target error) bool { return target == ErrNotRegistered }

// Hotkey is the miner's key: it names the axon and signs serve_axon.
type Hotkey interface {
	chain.Signer
}

// SpecsSource takes the machine's inventory; *specs.Collector implements it.
type SpecsSource interface {
	Collect(ctx context.Context) (specs.Specs, error)
}

// GPUSource lists the GPUs and driver; gpu.Query fits.
type GPUSource func(ctx context.Context) (gpu.Inventory, error)

// Deps are the miner's collaborators. Chain, Hotkey and Listener are required; the others
// are built from Config when nil.
type Deps struct {
	Chain  chain.Chain
	Hotkey Hotkey
	// Listener is where the axon is served, opened by the caller (on Config.AxonIP and
	// Config.AxonPort: Config.AxonListenAddr); Run closes it.
	Listener net.Listener
	// Solver replaces the solver named by Config.Solver.
	Solver pow.Solver
	// Docker replaces the daemon found through the environment (container.Dial).
	Docker *client.Client
	// Specs replaces the inventory of this machine.
	Specs SpecsSource
	// GPUs replaces the NVML inventory.
	GPUs GPUSource
	// Registry receives the miner's metrics (a private one when nil); the caller serves it.
	Registry prometheus.Registerer
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Gate is held by each challenge and allocation, so that a restart for an
	// update waits for them (nil: none).
	Gate Gate
}

// Miner is the miner role. Create it with New and run it with Run, once.
type Miner struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	met  *Metrics

	policy atomic.Pointer[Policy]
	specs  atomic.Pointer[string]

	// set during start-up, read-only afterwards
	uid      uint16
	queue    *pow.Queue
	solver   pow.Solver
	leases   *container.Manager
	axonAddr net.Addr
	announce chain.AxonInfo
	// ownDocker is the Docker client start dialled itself (closed by stop).
	ownDocker *client.Client

	ready   chan struct{}
	started atomic.Bool
}

// New checks cfg and deps; nothing is contacted before Run.
func New(cfg Config, deps Deps) (*Miner, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if deps.Chain == nil {
		return nil, errors.New("miner: a chain is required")
	}
	if deps.Hotkey == nil {
		return nil, errors.New("miner: a hotkey is required")
	}
	if deps.Listener == nil {
		return nil, errors.New("miner: an axon listener is required")
	}
	if cfg.LeaseOwner == "" {
		cfg.LeaseOwner = "miner-" + deps.Hotkey.SS58Address()
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	met, err := NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("miner: register metrics: %w", err)
	}
	m := &Miner{
		cfg:      cfg,
		deps:     deps,
		log:      deps.Log.With("component", "miner"),
		met:      met,
		axonAddr: deps.Listener.Addr(),
		ready:    make(chan struct{}),
	}
	m.policy.Store(NewPolicy(cfg.Policy, nil))
	return m, nil
}

// Ready is closed once the axon serves and is announced on chain.
func (m *Miner) Ready() <-chan struct{} { return m.ready }

// AxonAddr is the address the axon listens on (Deps.Listener's).
func (m *Miner) AxonAddr() net.Addr { return m.axonAddr }

// UID is the miner's uid on the subnet (valid after Ready).
func (m *Miner) UID() uint16 { return m.uid }

// AllocationEnabled reports whether Allocate requests reach a lease manager (valid after Ready).
func (m *Miner) AllocationEnabled() bool { return m.leases != nil }

// Run starts the miner and serves the axon on Deps.Listener until ctx ends. It returns
// after every goroutine it started has exited, the listener closed; a start-up failure is
// returned at once.
func (m *Miner) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("miner: Run called twice")
	}
	axonLn := m.deps.Listener
	defer axonLn.Close()
	if err := m.start(ctx); err != nil {
		m.stop()
		return err
	}
	defer m.stop()

	ax, err := m.newAxon()
	if err != nil {
		return err
	}
	// Stop order (see doc.go): the axon (Serve returns after draining and cancelling its
	// requests, which cancels their solves), then the sync loop; stop() closes the solver
	// and the lease manager after both.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := ax.Serve(gctx, axonLn); err != nil {
			return fmt.Errorf("axon: %w", err)
		}
		return nil
	})
	if err := m.serveAxon(gctx); err != nil {
		m.log.Error("announcing the axon on chain failed; retrying at each sync", "err", err)
	}
	if m.cfg.LocalChain && defaultRouteIP(m.cfg) && m.announce.IP != "" {
		m.log.Info("announcing the default route interface's IP on the local chain; validators must reach this miner there (set --axon.external_ip to announce another, e.g. 127.0.0.1 when everything runs on this machine)",
			"ip", m.announce.IP)
	}
	m.log.Info("miner serving", "axon", m.axonAddr.String(), "announced", net.JoinHostPort(m.announce.IP, strconv.Itoa(int(m.announce.Port))),
		"version", version.String, "solver", m.solver.Name(), "allocation", m.leases != nil)
	g.Go(func() error { m.syncLoop(gctx); return nil })
	close(m.ready)
	err = g.Wait()
	if ctx.Err() != nil && err == nil {
		m.log.Info("miner stopped")
	}
	return err
}

// start runs the start-up checks and builds the services.
func (m *Miner) start(ctx context.Context) error {
	if err := os.MkdirAll(m.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create the data directory %s: %w", m.cfg.DataDir, err)
	}
	if err := os.Chmod(m.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("restrict the data directory %s to its owner: %w", m.cfg.DataDir, err)
	}
	hotkey := m.deps.Hotkey.SS58Address()
	n, err := m.deps.Chain.NeuronByHotkey(ctx, m.cfg.Netuid, hotkey)
	switch {
	case errors.Is(err, chain.ErrNotRegistered):
		return &NotRegisteredError{Hotkey: hotkey, Netuid: m.cfg.Netuid}
	case err != nil:
		return fmt.Errorf("check registration of %s on netuid %d: %w", hotkey, m.cfg.Netuid, err)
	}
	m.uid = n.UID
	m.log = m.log.With("uid", n.UID)
	m.log.Info("registered", "hotkey", hotkey, "netuid", m.cfg.Netuid, "stake", n.Stake)
	if err := m.refreshPolicy(ctx); err != nil {
		return err
	}

	// GPUs and driver.
	gpus := m.deps.GPUs
	if gpus == nil {
		gpus = gpu.Query
	}
	inv, err := gpus(ctx)
	switch {
	case err != nil:
		m.log.Warn("the NVIDIA driver answered with an error: running CPU-only", "err", err)
	case inv.Count() == 0:
		m.log.Info("no NVIDIA GPU found: running CPU-only", "reason", inv.Reason)
	default:
		names := make([]string, 0, inv.Count())
		for _, g := range inv.GPUs {
			names = append(names, g.Name)
		}
		m.log.Info("GPUs found", "count", inv.Count(), "gpus", names, "driver", inv.DriverVersion, "cuda", inv.CUDAVersion)
	}
	m.met.gpus.Set(float64(inv.Count()))

	// Proof-of-work solver.
	m.solver = m.deps.Solver
	if m.solver == nil {
		opts := pick.Options{Hashcat: m.cfg.Hashcat, Timeout: m.cfg.SolveTimeout}
		if m.solver, err = pick.New(ctx, m.cfg.Solver, opts, m.log); err != nil {
			return fmt.Errorf("proof-of-work solver %q: %w", m.cfg.Solver, err)
		}
		if hc, ok := pow.Unwrap(m.solver).(*hashcat.Solver); ok {
			m.log.Info("hashcat", "version", hc.Version(), "path", m.cfg.Hashcat.Path, "device_types", hc.DeviceTypes())
		}
	}
	m.queue = pow.NewQueue(m.solver, m.cfg.QueueLength)

	// Docker and the lease image.
	if err := m.startAllocation(ctx, inv); err != nil {
		return err
	}
	m.met.live.Store(&liveState{queueLen: m.queue.Len, leased: func() bool {
		if m.leases == nil {
			return false
		}
		_, ok := m.leases.Lease()
		return ok
	}})

	// Specs.
	src := m.deps.Specs
	if src == nil {
		var hasDocker func(context.Context) bool
		if m.leases != nil {
			hasDocker = func(context.Context) bool { return true }
		}
		inventory := specs.GPUInventory(specs.NoGPUs{})
		if inv.Count() > 0 {
			inventory = specs.NVML{}
		}
		c, err := specs.New(specs.Config{DataDir: m.cfg.DataDir, GPUs: inventory, HasDocker: hasDocker, ProbeBytes: m.cfg.SpecsProbeBytes})
		if err != nil {
			return fmt.Errorf("specs: %w", err)
		}
		m.deps.Specs = c
	}
	if err := m.refreshSpecs(ctx); err != nil {
		return err
	}
	return nil
}

// startAllocation connects to Docker, checks that it can run a container from the lease
// image, and starts the lease manager. Without it the miner still serves Specs and
// Challenge and answers every Allocate with status false.
func (m *Miner) startAllocation(ctx context.Context, inv gpu.Inventory) error {
	m.met.allocation.Set(0)
	if !m.cfg.Allocation {
		m.log.Info("allocation disabled by configuration: Allocate requests are answered with status false")
		return nil
	}
	disable := func(why error) error {
		if m.cfg.AllocationRequired {
			return fmt.Errorf("allocation required but unavailable: %w", why)
		}
		m.log.Warn("ALLOCATION DISABLED: this machine cannot be rented; Allocate requests are answered with status false", "reason", why)
		return nil
	}
	cli := m.deps.Docker
	if cli == nil {
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		c, err := container.Dial(dctx)
		cancel()
		if err != nil {
			return disable(err)
		}
		m.ownDocker = c
		cli = c
	}
	if err := probeDocker(ctx, cli, m.cfg.Image); err != nil {
		return disable(err)
	}
	var bind netip.Addr
	if m.cfg.SSHBindIP != "" {
		bind = netip.MustParseAddr(m.cfg.SSHBindIP)
	}
	hostGPUs := container.HostGPUs(inv)
	mgr, err := container.NewManager(container.Config{
		DataDir:     m.cfg.DataDir,
		Image:       m.cfg.Image,
		SSHPort:     m.cfg.SSHPort,
		BindAddress: bind,
		Owner:       m.cfg.LeaseOwner,
		GPUs:        func(context.Context) ([]container.HostGPU, error) { return hostGPUs, nil },
		Logger:      m.deps.Log,
	}, cli)
	if err != nil {
		return disable(err)
	}
	if err := mgr.Start(ctx); err != nil {
		return disable(fmt.Errorf("load the stored lease: %w", err))
	}
	m.leases = mgr
	m.met.allocation.Set(1)
	lease, ok := mgr.Lease()
	m.log.Info("allocation enabled", "image", m.cfg.Image, "ssh_port", m.cfg.SSHPort, "allocated", ok, "lease", lease.ID)
	return nil
}

// stop releases what start built, in the documented order.
func (m *Miner) stop() {
	if m.solver != nil && m.deps.Solver == nil {
		if err := m.solver.Close(); err != nil {
			m.log.Warn("closing the solver", "err", err)
		}
	}
	if m.leases != nil {
		m.leases.Close()
	}
	if m.ownDocker != nil {
		m.ownDocker.Close()
	}
}

// refreshSpecs takes the inventory again and caches its JSON report.
func (m *Miner) refreshSpecs(ctx context.Context) error {
	s, err := m.deps.Specs.Collect(ctx)
	if err != nil {
		return fmt.Errorf("take this machine's specs: %w", err)
	}
	if m.leases != nil {
		s.HasDocker = true
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode specs: %w", err)
	}
	out := string(b)
	m.specs.Store(&out)
	return nil
}

// refreshPolicy reads the metagraph and replaces the filtering snapshot.
func (m *Miner) refreshPolicy(ctx context.Context) error {
	mg, err := m.deps.Chain.Metagraph(ctx, m.cfg.Netuid)
	if err != nil {
		return fmt.Errorf("read the metagraph of netuid %d: %w", m.cfg.Netuid, err)
	}
	p := NewPolicy(m.cfg.Policy, mg)
	old := m.policy.Swap(p)
	if old == nil || old.VersionFilterActive() != p.VersionFilterActive() || old.Validators != p.Validators {
		m.log.Info("validators", "count", p.Validators, "up_to_date", p.UpToDate, "min_version", m.cfg.Policy.MinValidatorVersion, "version_filter", p.VersionFilterActive())
	}
	return nil
}

// syncLoop refreshes the metagraph, re-announces the axon when needed and retakes the
// specs, until ctx ends.
func (m *Miner) syncLoop(ctx context.Context) {
	sync := time.NewTicker(m.cfg.SyncInterval)
	defer sync.Stop()
	specsT := time.NewTicker(m.cfg.SpecsInterval)
	defer specsT.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sync.C:
			if err := m.refreshPolicy(ctx); err != nil {
				if ctx.Err() == nil {
					m.log.Warn("metagraph refresh failed; keeping the previous snapshot", "err", err)
				}
				continue
			}
			if err := m.serveAxon(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("axon announcement failed", "err", err)
			}
		case <-specsT.C:
			if err := m.refreshSpecs(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("specs refresh failed; keeping the previous report", "err", err)
			}
		}
	}
}

// serveAxon announces the axon when the chain's record differs in IP, port or version.
// Run calls it once before the sync loop starts, then only the sync loop does.
func (m *Miner) serveAxon(ctx context.Context) error {
	want, err := m.wantAxon()
	if err != nil {
		return err
	}
	m.announce = want
	hotkey := m.deps.Hotkey.SS58Address()
	n, err := m.deps.Chain.NeuronByHotkey(ctx, m.cfg.Netuid, hotkey)
	if err != nil {
		if errors.Is(err, chain.ErrNotRegistered) {
			m.log.Error("this hotkey is no longer registered on the subnet (deregistered?); validators will stop querying it", "hotkey", hotkey)
		}
		return fmt.Errorf("read own neuron: %w", err)
	}
	if n.UID != m.uid {
		m.log.Warn("uid changed", "old", m.uid, "new", n.UID)
	}
	if sameAxon(n.Axon, want) {
		return nil
	}
	if err := m.deps.Chain.ServeAxon(ctx, m.cfg.Netuid, m.deps.Hotkey, want); err != nil {
		return fmt.Errorf("serve_axon %s:%d version %d: %w", want.IP, want.Port, want.Version, err)
	}
	m.met.served.Inc()
	m.log.Info("axon announced on chain", "ip", want.IP, "port", want.Port, "version", want.Version,
		"was", net.JoinHostPort(n.Axon.IP, strconv.Itoa(int(n.Axon.Port))), "was_version", n.Axon.Version)
	return nil
}

func sameAxon(have, want chain.AxonInfo) bool {
	a, errA := netip.ParseAddr(have.IP)
	b, errB := netip.ParseAddr(want.IP)
	sameIP := have.IP == want.IP || (errA == nil && errB == nil && a.Unmap() == b.Unmap())
	return sameIP && have.Port == want.Port && have.Version == want.Version
}

// defaultRouteIP reports whether the announced IP is found from the default
// route: no external IP is given and the axon listens on all addresses.
func defaultRouteIP(cfg Config) bool {
	if cfg.ExternalIP != "" {
		return false
	}
	a, err := netip.ParseAddr(cfg.AxonIP)
	return cfg.AxonIP == "" || (err == nil && a.IsUnspecified())
}

// wantAxon is the endpoint to announce.
func (m *Miner) wantAxon() (chain.AxonInfo, error) {
	ipText := m.cfg.ExternalIP
	if ipText == "" && m.cfg.AxonIP != "" {
		if a, err := netip.ParseAddr(m.cfg.AxonIP); err == nil && !a.IsUnspecified() {
			ipText = m.cfg.AxonIP
		}
	}
	if ipText == "" {
		ip, err := outboundIP()
		if err != nil {
			return chain.AxonInfo{}, fmt.Errorf("find this machine's IP to announce (give the external IP): %w", err)
		}
		ipText = ip
	}
	ip, err := netip.ParseAddr(ipText)
	if err != nil {
		return chain.AxonInfo{}, config.Errorf("miner.Config.ExternalIP", "%q is not an IP address", ipText)
	}
	port := m.cfg.ExternalPort
	if port == 0 {
		if ta, ok := m.axonAddr.(*net.TCPAddr); ok {
			port = ta.Port
		}
	}
	ipType := uint8(4)
	if ip.Unmap().Is6() {
		ipType = 6
	}
	return chain.AxonInfo{IP: ip.Unmap().String(), Port: uint16(port), Version: uint32(version.Int), IPType: ipType, Protocol: 4}, nil
}

// outboundIP is the local address of the interface holding the default route (no packet
// is sent).
func outboundIP() (string, error) {
	c, err := net.Dial("udp", "192.0.2.1:9")
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}
