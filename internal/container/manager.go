package container

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"golang.org/x/sys/unix"

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

// sshCaps are the only capabilities a lease container keeps: what sshd (privilege
// separation, chroot, PAM audit, port 22) and package installation need. MKNOD, NET_RAW,
// SETFCAP and SETPCAP are dropped.
var sshCaps = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"}

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
		return fmt.Errorf("flag 'ssh.port' must be between 1 and 65535, got %d", c.SSHPort)
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
// mu; the expiry timer's callback takes mu as well. Close stops the timer and waits for a
// callback in flight.
type Manager struct {
	cfg    Config
	engine Engine
	log    *slog.Logger
	path   string

	mu     sync.Mutex
	lease  *Lease
	timer  *time.Timer
	closed bool
	wg     sync.WaitGroup // expiry callbacks armed or running

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

// Close stops the expiry timer and waits for an expiry in progress. Containers keep
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
	// SSHPublicKey, when set, is installed for root and password login is disabled.
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
		if v.sshKey, err = NormalizeSSHKey(sshKey); err != nil {
			return v, err
		}
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
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.lease != nil {
		return ErrAlreadyAllocated
	}
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
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return AllocateResult{}, ErrClosed
	}
	if m.lease != nil {
		return AllocateResult{}, ErrAlreadyAllocated
	}
	limits, err := m.limits(ctx, v.req)
	if err != nil {
		return AllocateResult{}, err
	}
	password, err := GeneratePassword()
	if err != nil {
		return AllocateResult{}, err
	}
	id, err := newLeaseID()
	if err != nil {
		return AllocateResult{}, err
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
		return AllocateResult{}, err
	}
	lease.DiskEnforced = limits.DiskBytes > 0
	cid, err := m.create(ctx, lease, limits, log)
	if err != nil {
		cleanup()
		return AllocateResult{}, err
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
		return AllocateResult{}, fmt.Errorf("%w: %w", ErrInvalidPublicKey, err)
	}
	if err := m.deliverFiles(ctx, cid, password, v.sshKey, li); err != nil {
		cleanup()
		return AllocateResult{}, err
	}
	t1 := time.Now()
	if _, err := m.engine.ContainerStart(ctx, cid, client.ContainerStartOptions{}); err != nil {
		cleanup()
		return AllocateResult{}, classify("start lease container", err)
	}
	t2 := time.Now()
	if err := m.ready(ctx, cid); err != nil {
		cleanup()
		return AllocateResult{}, err
	}
	if err := saveState(m.path, lease); err != nil {
		cleanup()
		return AllocateResult{}, err
	}
	m.lease = lease
	m.armLocked(lease)
	log.Info("lease allocated", "container", shortID(cid), "port", lease.Port, "cpus", limits.CPUSet,
		"memory", limits.MemoryBytes, "gpus", len(limits.GPUIDs), "disk", limits.DiskBytes, "disk_enforced", lease.DiskEnforced, "disk_volume", lease.DiskVolume != "",
		"network", lease.Network, "firewalled", lease.Firewalled, "expiry", lease.Expiry, "key_only", lease.KeyOnly,
		"create", t1.Sub(t0).Round(time.Millisecond), "start", t2.Sub(t1).Round(time.Millisecond), "ssh_ready", time.Since(t2).Round(time.Millisecond))
	return AllocateResult{Info: info, Lease: *lease}, nil
}

// ContainerSpec builds the Docker create options of a lease; it is pure.
func ContainerSpec(cfg Config, l *Lease, lim Limits) client.ContainerCreateOptions {
	port := network.MustParsePort("22/tcp")
	pids := lim.PidsLimit
	netMode := "bridge"
	if l.Network != "" {
		netMode = l.Network
	}
	hc := &container.HostConfig{
		PortBindings: network.PortMap{port: {{HostIP: cfg.BindAddress, HostPort: strconv.Itoa(l.Port)}}},
		NetworkMode:  container.NetworkMode(netMode),
		Privileged:   false,
		CapDrop:      []string{"ALL"},
		CapAdd:       append([]string(nil), sshCaps...),
		SecurityOpt:  []string{"no-new-privileges:true"},
		RestartPolicy: container.RestartPolicy{
			Name: container.RestartPolicyUnlessStopped,
		},
		Resources: container.Resources{
			CpusetCpus: lim.CPUSet,
			Memory:     lim.MemoryBytes,
			MemorySwap: lim.MemorySwapBytes,
			PidsLimit:  &pids,
		},
	}
	switch {
	case l.DiskVolume != "":
		// Everything writable is on the lease's sized volume; the rest is read-only.
		hc.ReadonlyRootfs = true
		hc.Tmpfs = map[string]string{"/run": runTmpfs}
		for _, p := range volumePaths {
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: volumeName(l, p), Target: p})
		}
	case lim.DiskBytes > 0:
		hc.StorageOpt = map[string]string{"size": strconv.FormatInt(lim.DiskBytes, 10)}
	}
	if l.Network != "" && lim.DisableIPv6 {
		// The network is IPv4 only; without IPv6 the host's link-local addresses on
		// the bridge are out of reach too.
		hc.Sysctls = map[string]string{"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
	}
	if len(lim.GPUIDs) > 0 {
		hc.DeviceRequests = []container.DeviceRequest{{
			Driver:       "nvidia",
			DeviceIDs:    append([]string(nil), lim.GPUIDs...),
			Capabilities: [][]string{{"gpu"}},
		}}
	}
	labels := map[string]string{
		LabelOwner:  cfg.Owner,
		LabelLease:  l.ID,
		LabelExpiry: l.Expiry.UTC().Format(time.RFC3339),
		LabelSchema: strconv.Itoa(SchemaVersion),
	}
	if l.ValidatorHotkey != "" {
		labels[LabelHotkey] = l.ValidatorHotkey
	}
	return client.ContainerCreateOptions{
		Name: l.ContainerName,
		Config: &container.Config{
			Image:        cfg.Image,
			Hostname:     "compute-lease",
			Labels:       labels,
			ExposedPorts: network.PortSet{port: {}},
		},
		HostConfig: hc,
	}
}

func (m *Manager) create(ctx context.Context, l *Lease, lim Limits, log *slog.Logger) (string, error) {
	opts := ContainerSpec(m.cfg, l, lim)
	res, err := m.engine.ContainerCreate(ctx, opts)
	if err != nil && lim.DiskBytes > 0 && strings.Contains(strings.ToLower(err.Error()), "storage-opt") {
		w := fmt.Sprintf("disk quota of %d bytes not enforced: %v", lim.DiskBytes, err)
		log.Warn("lease limit not enforced", "warning", w)
		l.Warnings = append(l.Warnings, w)
		l.DiskEnforced = false
		opts.HostConfig.StorageOpt = nil
		res, err = m.engine.ContainerCreate(ctx, opts)
	}
	if err != nil {
		return "", classify("create lease container", notFoundAsImage(err))
	}
	return res.ID, nil
}

// notFoundAsImage: a create or image inspect that finds nothing is missing the image.
func notFoundAsImage(err error) error {
	if cerrdefs.IsNotFound(err) && !strings.Contains(strings.ToLower(err.Error()), "image") {
		return fmt.Errorf("no such image: %w", err)
	}
	return err
}

// deliverFiles copies the password (as a chpasswd line) and the SSH key into the
// created container as private files, which the image's entry point applies and deletes,
// and the lease's limits as /etc/lease and /etc/motd. Nothing secret appears in the
// environment or on a command line. The files go under /etc, which is on the lease's
// volume when the root filesystem is read-only.
func (m *Manager) deliverFiles(ctx context.Context, id, password, sshKey string, li leaseInfo) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := m.cfg.Now()
	rel := func(p string) string { return strings.TrimPrefix(p, "/etc/") }
	for _, d := range []string{"/etc/compute/", "/" + leaseDir + "/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel(d), Mode: 0o700, ModTime: now}); err != nil {
			return fmt.Errorf("pack credentials: %w", err)
		}
	}
	type file struct {
		name, body string
		mode       int64
	}
	files := []file{
		{"/" + leaseDir + "/chpasswd", rootUser + ":" + password + "\n", 0o600},
		{leaseInfoPath, li.LeaseFile(), 0o644},
		{motdPath, li.Motd(), 0o644},
	}
	if sshKey != "" {
		files = append(files, file{"/" + leaseDir + "/authorized_keys", sshKey + "\n", 0o600})
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel(f.name), Mode: f.mode, Size: int64(len(f.body)), ModTime: now}); err != nil {
			return fmt.Errorf("pack credentials: %w", err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return fmt.Errorf("pack credentials: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack credentials: %w", err)
	}
	if _, err := m.engine.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/etc", Content: &buf}); err != nil {
		return classify("copy credentials into the lease container", err)
	}
	return nil
}

// waitSSH waits until the mapped port answers with an SSH banner.
func (m *Manager) waitSSH(ctx context.Context, id string) error {
	host := m.cfg.BindAddress
	if !host.IsValid() || host.IsUnspecified() {
		host = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	addr := net.JoinHostPort(host.String(), strconv.Itoa(m.cfg.SSHPort))
	deadline := time.Now().Add(m.cfg.ReadyTimeout)
	var lastErr error
	for attempt := 0; ; attempt++ {
		if lastErr = sshBanner(ctx, addr); lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		if attempt%20 == 19 { // about once a second, make sure the container still runs
			if res, err := m.engine.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil &&
				res.Container.State != nil && !res.Container.State.Running {
				return fmt.Errorf("%w: container exited with code %d", ErrNotReady, res.Container.State.ExitCode)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w: no SSH banner on %s within %s: %v", ErrNotReady, addr, m.cfg.ReadyTimeout, lastErr)
}

func sshBanner(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return err
	}
	if string(buf) != "SSH-" {
		return fmt.Errorf("unexpected banner %q", buf)
	}
	return nil
}

// Deallocate ends the lease when publicKey is the key that allocated it. The container is
// removed first; when Docker fails the lease is kept so that a retry can finish the job.
func (m *Manager) Deallocate(ctx context.Context, publicKey string) error {
	k, err := ParseRequesterKey(publicKey)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.lease == nil {
		return ErrNotAllocated
	}
	if m.lease.RequesterFingerprint != k.Fingerprint {
		return ErrWrongKey
	}
	return m.endLocked(ctx, "deallocated")
}

// endLocked removes the lease's container, then forgets the lease.
func (m *Manager) endLocked(ctx context.Context, why string) error {
	l := m.lease
	if err := m.teardown(ctx, l); err != nil {
		return fmt.Errorf("end lease %s: %w", l.ID, err)
	}
	if err := saveState(m.path, nil); err != nil {
		return fmt.Errorf("end lease %s: %w", l.ID, err)
	}
	m.stopTimerLocked()
	m.lease = nil
	m.log.Info("lease ended", "lease", l.ID, "reason", why, "container", shortID(l.ContainerID))
	return nil
}

// remove force-removes a container; one that is already gone counts as removed.
func (m *Manager) remove(ctx context.Context, id string) error {
	_, err := m.engine.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return classify("remove container "+shortID(id), err)
	}
	return nil
}

// armLocked (re)arms the expiry timer of l.
func (m *Manager) armLocked(l *Lease) {
	m.armAfterLocked(l.ID, l.Expiry.Sub(m.cfg.Now()))
}

func (m *Manager) armAfterLocked(id string, d time.Duration) {
	m.stopTimerLocked()
	if m.closed {
		return
	}
	if d < 0 {
		d = 0
	}
	m.wg.Add(1)
	m.timer = time.AfterFunc(d, func() {
		defer m.wg.Done()
		m.expire(id)
	})
}

func (m *Manager) stopTimerLocked() {
	if m.timer != nil && m.timer.Stop() {
		m.wg.Done() // the callback will never run
	}
	m.timer = nil
}

// expiryRetry is how long a failed expiry waits before it tries again.
const expiryRetry = time.Minute

func (m *Manager) expire(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.lease == nil || m.lease.ID != id {
		return
	}
	// The timer outlives every request: expiry gets its own bounded context.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.endLocked(ctx, "expired"); err != nil {
		m.log.Error("lease expiry failed; will retry", "lease", id, "retry_in", expiryRetry, "err", err)
		m.armAfterLocked(id, expiryRetry)
	}
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
