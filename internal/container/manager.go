package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"golang.org/x/sys/unix"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/wallet"
)

// Errors of the lease life cycle.
var (
	ErrAlreadyAllocated = errors.New("container: this machine is already allocated")
	ErrNotAllocated     = errors.New("container: this machine is not allocated")
	ErrWrongKey         = errors.New("container: the public key is not the one that allocated this machine")
	ErrInvalidTimeline  = errors.New("container: invalid timeline")
	ErrInvalidRequest   = errors.New("container: invalid allocation request")
	ErrClosed           = errors.New("container: lease manager is closed")
	ErrNotReady         = errors.New("container: lease container did not start serving SSH")
	ErrBusy             = errors.New("container: a lease is being allocated, changed or removed; try again shortly")
)

// Labels set on every lease container; they are the source of truth on restart.
const (
	LabelOwner  = "org.sn27.compute.owner"
	LabelLease  = "org.sn27.compute.lease"
	LabelExpiry = "org.sn27.compute.expiry"
	LabelSchema = "org.sn27.compute.schema"
	LabelHotkey = "org.sn27.compute.hotkey"
)

// Defaults of Config.
const (
	DefaultImage       = "compute-ssh:latest"
	DefaultSSHPort     = 4444
	DefaultMaxTimeline = 60
	DefaultOwner       = "miner"
	DefaultNamePrefix  = "compute-lease"
	rootUser           = "root"
	leaseDir           = "etc/compute/lease"
)

// Config configures a Manager.
type Config struct {
	// DataDir is the miner's data directory; the lease state lives in DataDir/leases.json.
	DataDir string
	// Image is the SSH image lease containers run (default DefaultImage).
	Image string
	// SSHPort is the host port mapped to the container's port 22 (default 4444).
	SSHPort int
	// BindAddress is the host address the SSH port listens on (zero: all addresses).
	BindAddress netip.Addr
	// Owner tells this miner's containers from others' on the same daemon (default "miner").
	Owner string
	// NamePrefix starts container names (default "compute-lease").
	NamePrefix string
	// MaxTimeline is the longest lease in timeline units (default 60).
	MaxTimeline int
	// TimelineUnit is the length of one timeline unit (default 24h: timelines are days).
	TimelineUnit time.Duration
	// PidsLimit bounds the processes of a lease container (default 4096).
	PidsLimit int64
	// ReadyTimeout bounds the wait for sshd to answer after start (default 20s).
	ReadyTimeout time.Duration
	// GPUs lists the host's GPUs for the limit maths (nil: none).
	GPUs func(ctx context.Context) ([]HostGPU, error)
	// Logger receives the manager's logs (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		return errors.New("container: Config.DataDir is required")
	}
	if c.Image == "" {
		c.Image = DefaultImage
	}
	if c.SSHPort == 0 {
		c.SSHPort = DefaultSSHPort
	}
	if c.SSHPort < 1 || c.SSHPort > 65535 {
		return config.Errorf("container.Config.SSHPort", "must be between 1 and 65535, got %d", c.SSHPort)
	}
	if c.Owner == "" {
		c.Owner = DefaultOwner
	}
	if c.NamePrefix == "" {
		c.NamePrefix = DefaultNamePrefix
	}
	if c.MaxTimeline == 0 {
		c.MaxTimeline = DefaultMaxTimeline
	}
	if c.TimelineUnit == 0 {
		c.TimelineUnit = 24 * time.Hour
	}
	if c.PidsLimit == 0 {
		c.PidsLimit = DefaultPidsLimit
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 20 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Manager owns this machine's lease (at most one at a time). All its state is guarded by
// mu, which is never held across Docker calls, the SSH wait or the lease removal: an
// allocation or a removal in progress is a state of its own (busy), taken under mu before
// the slow work and left under mu after it, so that checking requests, Lease and metrics
// answer meanwhile. Close stops the timer and waits for an expiry callback or an
// operation in flight.
type Manager struct {
	cfg    Config
	engine Engine
	log    *slog.Logger
	path   string

	mu     sync.Mutex
	lease  *Lease
	busy   operation     // the lease operation in progress, if any
	idle   chan struct{} // closed when the operation in progress ends
	timer  *time.Timer
	closed bool
	wg     sync.WaitGroup // expiry callbacks armed or running, and operations in flight

	// ready waits until a started container serves SSH (waitSSH; unit tests replace it).
	ready func(ctx context.Context, id string) error
	// disk makes the leases' sized volumes and fw their firewall rules (loop devices
	// and iptables; unit tests replace them).
	disk diskVolumes
	fw   firewall
}

// NewManager checks the configuration; Start loads and re-adopts the stored lease.
func NewManager(cfg Config, engine Engine) (*Manager, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if engine == nil {
		return nil, errors.New("container: a Docker engine is required")
	}
	m := &Manager{
		cfg:    cfg,
		engine: engine,
		log:    cfg.Logger.With("component", "lease"),
		path:   filepath.Join(cfg.DataDir, StateFileName),
	}
	m.ready = m.waitSSH
	m.disk = loopVolumes{}
	m.fw = iptablesFirewall{}
	return m, nil
}

// Start loads the stored lease, re-adopts its container (starting it again when it was
// stopped), removes this owner's containers that belong to no lease, expires a lease whose
// time is over and re-arms the expiry timer. A dead daemon is an error and the stored
// lease is kept for the next start.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	lease, err := loadState(m.path)
	if err != nil {
		return err
	}
	list, err := m.engine.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", LabelOwner+"="+m.cfg.Owner),
	})
	if err != nil {
		return classify("list lease containers", err)
	}
	found := false
	for _, c := range list.Items {
		if lease != nil && c.Labels[LabelLease] == lease.ID {
			found = true
			lease.ContainerID = c.ID
			// The volume and the firewall rules do not survive a reboot of the host:
			// put them back before the container runs again.
			m.restoreLocked(ctx, lease)
			if c.State != container.StateRunning && m.cfg.Now().Before(lease.Expiry) {
				if _, err := m.engine.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
					m.log.Warn("restart of the lease container failed", "lease", lease.ID, "container", shortID(c.ID), "err", classify("start", err))
				}
			}
			continue
		}
		m.log.Info("removing stray lease container", "container", shortID(c.ID), "names", c.Names, "lease", c.Labels[LabelLease])
		if err := m.remove(ctx, c.ID); err != nil {
			m.log.Warn("stray container not removed", "container", shortID(c.ID), "err", err)
		}
	}
	if lease != nil && !found {
		m.log.Warn("the container of the stored lease is gone; dropping the lease", "lease", lease.ID, "container", shortID(lease.ContainerID))
		if err := m.teardown(ctx, lease); err != nil {
			m.log.Warn("what is left of the dropped lease was not all removed", "lease", lease.ID, "err", err)
		}
		if err := saveState(m.path, nil); err != nil {
			return err
		}
		lease = nil
	}
	m.removeStrays(ctx, lease)
	if ok, why := m.disk.Support(); !ok {
		m.log.Warn("leases' disk sizes are enforced only where the storage driver has a quota", "why", why)
	}
	if ok, why := m.fw.Support(); !ok {
		m.log.Warn("leases will reach this host's services", "why", why)
	}
	m.lease = lease
	if lease != nil {
		m.log.Info("lease re-adopted", "lease", lease.ID, "container", shortID(lease.ContainerID), "expiry", lease.Expiry)
		m.armLocked(lease)
	}
	return nil
}

// Close stops the expiry timer and waits for an expiry, allocation or deallocation in
// progress. Containers keep
// running: leases outlive the miner process.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	m.stopTimerLocked()
	m.mu.Unlock()
	m.wg.Wait()
}

// Lease returns the active lease, if any.
func (m *Manager) Lease() (Lease, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lease == nil {
		return Lease{}, false
	}
	return *m.lease, true
}

// AllocateRequest is a real allocation.
type AllocateRequest struct {
	// Timeline is the lease length in timeline units (days), 1 to MaxTimeline.
	Timeline int
	// DeviceRequirement is the synapse's device_requirement JSON.
	DeviceRequirement json.RawMessage
	// PublicKey is the requester's RSA public key (PEM); credentials are encrypted to it.
	PublicKey string
	// SSHPublicKey, when set, is installed for root and password login is
	// disabled: one key, or several one a line (see NormalizeSSHKeys).
	SSHPublicKey string
	// ValidatorHotkey is the SS58 address of the caller, recorded with the lease.
	ValidatorHotkey string
}

// AllocateResult is the outcome of a successful allocation.
type AllocateResult struct {
	// Info is base64(RSA-OAEP-SHA256(json{"username","password","port"})).
	Info  string
	Lease Lease
}

type validRequest struct {
	req    Requirement
	key    RequesterKey
	sshKey string
	hotkey string
}

func (m *Manager) validate(timeline int, requirement json.RawMessage, publicKey, sshKey, hotkey string) (validRequest, error) {
	var v validRequest
	if timeline <= 0 || timeline > m.cfg.MaxTimeline {
		return v, fmt.Errorf("%w: timeline must be between 1 and %d days, got %d", ErrInvalidTimeline, m.cfg.MaxTimeline, timeline)
	}
	var err error
	if v.req, err = ParseRequirement(requirement); err != nil {
		return v, err
	}
	if v.key, err = ParseRequesterKey(publicKey); err != nil {
		return v, err
	}
	if sshKey != "" {
		keys, err := NormalizeSSHKeys(sshKey)
		if err != nil {
			return v, err
		}
		v.sshKey = strings.Join(keys, "\n")
	}
	if hotkey != "" {
		if _, _, err := wallet.SS58Decode(hotkey); err != nil {
			return v, fmt.Errorf("%w: validator hotkey is not an SS58 address", ErrInvalidRequest)
		}
		v.hotkey = hotkey
	}
	return v, nil
}

// CanAllocate answers the checking request with a positive timeline: nil when this
// machine could take the lease now, else the reason it cannot.
func (m *Manager) CanAllocate(ctx context.Context, timeline int, requirement json.RawMessage, publicKey string) error {
	v, err := m.validate(timeline, requirement, publicKey, "", "")
	if err != nil {
		return err
	}
	if err := m.waitFree(ctx); err != nil {
		return err
	}
	// The host probe and the image check are Docker calls: they run without the lock.
	if _, err := m.limits(ctx, v.req); err != nil {
		return err
	}
	return CheckImage(ctx, m.engine, m.cfg.Image)
}

// IsAllocatedTo answers the checking request with timeline 0: whether the active lease
// belongs to this public key. An unparsable key is simply not the owner.
func (m *Manager) IsAllocatedTo(publicKey string) bool {
	k, err := ParseRequesterKey(publicKey)
	if err != nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lease != nil && m.lease.RequesterFingerprint == k.Fingerprint
}

func (m *Manager) limits(ctx context.Context, r Requirement) (Limits, error) {
	var gpus []HostGPU
	if m.cfg.GPUs != nil {
		var err error
		if gpus, err = m.cfg.GPUs(ctx); err != nil {
			return Limits{}, fmt.Errorf("list GPUs: %w", err)
		}
	}
	host, err := ProbeHost(ctx, m.engine, gpus)
	if err != nil {
		return Limits{}, err
	}
	host.DiskVolumes, host.DiskVolumesReason = m.disk.Support()
	if host.DiskVolumes {
		// The volumes live in the data directory: its free space is what counts.
		var st unix.Statfs_t
		if unix.Statfs(m.cfg.DataDir, &st) == nil {
			host.DiskFreeBytes = int64(st.Bavail) * int64(st.Bsize)
		}
	}
	_, err = os.Stat("/proc/sys/net/ipv6")
	host.IPv6 = err == nil
	return ComputeLimits(r, host, m.cfg.PidsLimit)
}

// Allocate creates the lease container and returns the encrypted credentials. It refuses
// while another lease is active. Every check runs before anything changes; a Docker
// failure removes what was created and stores nothing.
func (m *Manager) Allocate(ctx context.Context, r AllocateRequest) (AllocateResult, error) {
	v, err := m.validate(r.Timeline, r.DeviceRequirement, r.PublicKey, r.SSHPublicKey, r.ValidatorHotkey)
	if err != nil {
		return AllocateResult{}, err
	}
	if err := m.begin(ctx, opAllocate); err != nil {
		return AllocateResult{}, err
	}
	lease, info, err := m.allocate(ctx, r, v)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finishLocked()
	if err != nil {
		return AllocateResult{}, err
	}
	m.lease = lease
	m.armLocked(lease)
	return AllocateResult{Info: info, Lease: *lease}, nil
}

// allocate does the slow part of Allocate without the lock, the machine reserved by
// begin(opAllocate): the limits, the lease's network and volume, the container, its
// start, the SSH wait and the stored state. On failure it removes what it created.
func (m *Manager) allocate(ctx context.Context, r AllocateRequest, v validRequest) (*Lease, string, error) {
	limits, err := m.limits(ctx, v.req)
	if err != nil {
		return nil, "", err
	}
	password, err := GeneratePassword()
	if err != nil {
		return nil, "", err
	}
	id, err := newLeaseID()
	if err != nil {
		return nil, "", err
	}
	now := m.cfg.Now().UTC().Truncate(time.Second)
	lease := &Lease{
		ID:                   id,
		RequesterFingerprint: v.key.Fingerprint,
		RequesterPublicKey:   v.key.PEM,
		ValidatorHotkey:      v.hotkey,
		Requirement:          v.req,
		Start:                now,
		Expiry:               now.Add(time.Duration(r.Timeline) * m.cfg.TimelineUnit),
		ContainerName:        m.cfg.NamePrefix + "-" + id,
		Port:                 m.cfg.SSHPort,
		KeyOnly:              v.sshKey != "",
		Warnings:             limits.Warnings,
		Network:              m.cfg.NamePrefix + "-" + id,
		Bridge:               bridgeName(id),
	}
	log := m.log.With("lease", id)
	for _, w := range limits.Warnings {
		log.Warn("lease limit not enforced", "warning", w)
	}
	t0 := time.Now()
	cleanup := func() {
		// The caller's context may be cancelled already; cleanup must still happen.
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.teardown(cctx, lease); err != nil {
			log.Error("removing what the failed lease created", "container", shortID(lease.ContainerID), "err", err)
		}
	}
	if err := m.provision(ctx, lease, limits, log); err != nil {
		cleanup()
		return nil, "", err
	}
	lease.DiskEnforced = limits.DiskBytes > 0
	cid, err := m.create(ctx, lease, limits, log)
	if err != nil {
		cleanup()
		return nil, "", err
	}
	lease.ContainerID = cid
	li := leaseInfo{lease: lease, lim: limits}
	if lease.DiskVolume != "" {
		if li.diskFree, err = m.disk.Free(lease.DiskVolume); err != nil {
			log.Warn("lease volume", "err", err)
		}
	}
	info, err := EncryptCredentials(v.key.Key, Credentials{Username: rootUser, Password: password, Port: m.cfg.SSHPort, Disk: li.diskState()})
	if err != nil {
		cleanup()
		return nil, "", fmt.Errorf("%w: %w", ErrInvalidPublicKey, err)
	}
	if err := m.deliverFiles(ctx, cid, password, v.sshKey, li); err != nil {
		cleanup()
		return nil, "", err
	}
	t1 := time.Now()
	if _, err := m.engine.ContainerStart(ctx, cid, client.ContainerStartOptions{}); err != nil {
		cleanup()
		return nil, "", classify("start lease container", err)
	}
	t2 := time.Now()
	if err := m.ready(ctx, cid); err != nil {
		cleanup()
		return nil, "", err
	}
	if err := saveState(m.path, lease); err != nil {
		cleanup()
		return nil, "", err
	}
	log.Info("lease allocated", "container", shortID(cid), "port", lease.Port, "cpus", limits.CPUSet,
		"memory", limits.MemoryBytes, "gpus", len(limits.GPUIDs), "disk", limits.DiskBytes, "disk_enforced", lease.DiskEnforced, "disk_volume", lease.DiskVolume != "",
		"network", lease.Network, "firewalled", lease.Firewalled, "expiry", lease.Expiry, "key_only", lease.KeyOnly,
		"create", t1.Sub(t0).Round(time.Millisecond), "start", t2.Sub(t1).Round(time.Millisecond), "ssh_ready", time.Since(t2).Round(time.Millisecond))
	return lease, info, nil
}

// operation is a lease operation in progress: while one runs, the lock is free and
// every other change of the lease is refused with ErrBusy.
type operation int

const (
	opNone operation = iota
	opAllocate
	opEnd
	// Lease actions of the holder: the lease stays active meanwhile.
	opRestart
	opKeys
	opExtend
)

// freeLocked says whether this machine could take a lease now.
func (m *Manager) freeLocked() error {
	switch {
	case m.closed:
		return ErrClosed
	case m.busy != opNone:
		return ErrBusy
	case m.lease != nil:
		return ErrAlreadyAllocated
	}
	return nil
}

// begin reserves the machine for an allocation: the state it checks and the operation
// it records are what later requests see while the slow work runs without the lock.
func (m *Manager) begin(ctx context.Context, op operation) error {
	if err := m.waitFree(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.freeLocked(); err != nil {
		return err
	}
	m.startLocked(op)
	return nil
}

// waitFree returns whether this machine could take a lease now, as freeLocked, except
// that it first waits (without the lock, as long as ctx allows) for a lease removal in
// progress: the machine is free once it is done. An allocation in progress is not waited
// for; it answers ErrBusy.
func (m *Manager) waitFree(ctx context.Context) error {
	for {
		m.mu.Lock()
		if m.busy != opEnd || m.closed {
			err := m.freeLocked()
			m.mu.Unlock()
			return err
		}
		idle := m.idle
		m.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
		}
	}
}

// startLocked records op as the operation in progress.
func (m *Manager) startLocked(op operation) {
	m.busy = op
	m.idle = make(chan struct{})
	m.wg.Add(1)
}

// finishLocked ends the operation begun by begin or endingLocked.
func (m *Manager) finishLocked() {
	m.busy = opNone
	close(m.idle)
	m.wg.Done()
}

func newLeaseID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("lease id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
