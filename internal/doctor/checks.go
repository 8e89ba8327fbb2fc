package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

// Thresholds of the checks.
const (
	// DiskWarnBytes and DiskFailBytes: free space on the data directory's
	// file system below which the disk check warns and fails.
	DiskWarnBytes = 1 << 30
	DiskFailBytes = 200 << 20
	// NoFileWarn is the open-files limit below which the check warns.
	NoFileWarn = 4096
	// ClockWarnSkew is the clock difference with the chain above which the
	// clock check warns: peers refuse requests whose nonce is older than
	// wire.AllowedNonceDelta plus the request's timeout, so two clocks that
	// far apart lose requests. Above ClockFailSkew it fails.
	ClockWarnSkew = wire.AllowedNonceDelta
	ClockFailSkew = 12 * time.Second
	// dialTimeout bounds one TCP connect to the announced address.
	dialTimeout = 5 * time.Second
	// defaultBlockTime is the block interval assumed when the chain does not say.
	defaultBlockTime = 12 * time.Second
)

// check is one row of the table.
type check struct {
	name  string
	modes []Mode
	// slow checks get three times the time limit (the clock check waits for a block).
	slow bool
	// slowFix is the fix when the check does not finish in time.
	slowFix string
	run     func(ctx context.Context, d *Doctor, s state) (Result, func(*state))
}

func (c check) in(m Mode) bool { return slices.Contains(c.modes, m) }

var (
	both      = []Mode{Miner, Validator}
	minerOnly = []Mode{Miner}
	valOnly   = []Mode{Validator}
)

// checks is the table, in the order of the report; later checks use what
// earlier ones found (state).
var checks = []check{
	{name: "coldkeypub", modes: both, slowFix: "check that the wallet's file system answers", run: checkColdkeyPub},
	{name: "hotkey", modes: both, slowFix: "check that the wallet's file system answers", run: checkHotkey},
	{name: "wallet-permissions", modes: both, slowFix: "check that the wallet's file system answers", run: checkWalletPermissions},
	{name: "chain", modes: both, slowFix: "check --subtensor.network or --subtensor.chain_endpoint and that the node is up and reachable from this host", run: checkChain},
	{name: "registration", modes: both, slowFix: "the chain is slow to answer: try again, or use another node (--subtensor.chain_endpoint)", run: checkRegistration},
	{name: "validator-permit", modes: valOnly, slowFix: "the chain is slow to answer: try again", run: checkPermit},
	{name: "clock", modes: both, slow: true, slowFix: "the chain is slow to answer or produces no blocks: try again, or use another node (--subtensor.chain_endpoint)", run: checkClock},
	{name: "axon-address", modes: minerOnly, slowFix: "list this host's addresses with `ip -brief address`", run: checkAxonAddress},
	{name: "axon-port", modes: minerOnly, slowFix: "a firewall drops the connection: open the axon's TCP port", run: checkAxonPort},
	{name: "ssh-port", modes: minerOnly, slowFix: "a firewall drops the connection: open the lease SSH TCP port", run: checkSSHPort},
	{name: "docker", modes: minerOnly, slowFix: "the Docker daemon does not answer: systemctl restart docker, and read journalctl -u docker", run: checkDocker},
	{name: "lease-isolation", modes: minerOnly, slowFix: "check that the host answers", run: checkIsolation},
	{name: "lease-image", modes: minerOnly, slowFix: "the Docker daemon does not answer: systemctl restart docker", run: checkLeaseImage},
	{name: "gpu", modes: minerOnly, slowFix: "the NVIDIA driver does not answer: run nvidia-smi; a hung driver needs a reboot", run: checkGPU},
	{name: "nvidia-container-toolkit", modes: minerOnly, slowFix: "the Docker daemon does not answer: systemctl restart docker", run: checkToolkit},
	{name: "hashcat", modes: minerOnly, slowFix: "hashcat --version does not return: reinstall hashcat (>= 6.2.6)", run: checkHashcat},
	{name: "disk", modes: both, slowFix: "the data directory's file system does not answer (a stale network mount?)", run: checkDisk},
	{name: "open-files", modes: both, slowFix: "run ulimit -n to see the limit", run: checkNoFile},
}

func pass(format string, args ...any) Result {
	return Result{Status: Pass, Detail: fmt.Sprintf(format, args...)}
}

func skip(format string, args ...any) Result {
	return Result{Status: Skip, Detail: fmt.Sprintf(format, args...)}
}

func fail(fix, format string, args ...any) Result {
	return Result{Status: Fail, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

func warn(fix, format string, args ...any) Result {
	return Result{Status: Warn, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

func (d *Doctor) wallet() *wallet.Wallet {
	return wallet.New(d.cfg.WalletPath, d.cfg.WalletName, d.cfg.HotkeyName)
}

// walletArgs are the wallet flags of the configured wallet, for the fixes.
func (d *Doctor) walletArgs() string {
	args := []string{"--wallet.name", shellQuote(d.cfg.WalletName), "--wallet.hotkey", shellQuote(d.cfg.HotkeyName)}
	if d.cfg.WalletPath != "" {
		args = append([]string{"--wallet.path", shellQuote(d.cfg.WalletPath)}, args...)
	}
	return strings.Join(args, " ")
}

// chainArgs is " " + the chain arguments, or "".
func (d *Doctor) chainArgs() string {
	if d.cfg.ChainArgs == "" {
		return ""
	}
	return " " + d.cfg.ChainArgs
}

// keyfileFix is the fix for an unreadable key file.
func (d *Doctor) keyfileFix(err error, hot bool) string {
	w := d.wallet()
	switch {
	case errors.Is(err, wallet.ErrKeyfileNotFound) && hot:
		return fmt.Sprintf("check --wallet.path, --wallet.name and --wallet.hotkey (wallets are under %s); create the hotkey with `compute wallet new-hotkey %s` or restore it with `compute wallet regen --hotkey %s --mnemonic ...`", w.Path, d.walletArgs(), d.walletArgs())
	case errors.Is(err, wallet.ErrKeyfileNotFound):
		return fmt.Sprintf("check --wallet.path and --wallet.name (wallets are under %s); create the wallet with `compute wallet new %s` or restore it with `compute wallet regen %s --mnemonic ...`", w.Path, d.walletArgs(), d.walletArgs())
	case errors.Is(err, wallet.ErrNoPassword), errors.Is(err, wallet.ErrWrongPassword):
		return "the hotkey is encrypted: give its password in $COMPUTE_WALLET_PASSWORD (or BT_COLD_PW_<WALLET>), or restore it unencrypted with `compute wallet regen --hotkey`"
	case errors.Is(err, fs.ErrPermission):
		return "run compute as the user that owns the wallet (the service user), or chown the wallet directory to it"
	default:
		return "the key file is damaged or in an unknown format: restore it from its mnemonic with `compute wallet regen" + map[bool]string{true: " --hotkey", false: ""}[hot] + "`"
	}
}

func checkColdkeyPub(_ context.Context, d *Doctor, _ state) (Result, func(*state)) {
	w := d.wallet()
	kp, err := w.ColdkeyPub()
	if err != nil {
		return fail(d.keyfileFix(err, false), "%s: %v", w.ColdkeyPubPath(), err), nil
	}
	return pass("%s (%s)", kp.SS58Address(), w.ColdkeyPubPath()), nil
}

func checkHotkey(_ context.Context, d *Doctor, _ state) (Result, func(*state)) {
	w := d.wallet()
	kp, err := w.Hotkey()
	if err != nil {
		return fail(d.keyfileFix(err, true), "%s: %v", w.HotkeyPath(), err), nil
	}
	addr := kp.SS58Address()
	return pass("%s (%s)", addr, w.HotkeyPath()), func(s *state) { s.hotkey = addr }
}

// checkWalletPermissions: the hotkey file is readable by its owner only, the
// wallet and hotkeys directories are the owner's only.
func checkWalletPermissions(_ context.Context, d *Doctor, _ state) (Result, func(*state)) {
	w := d.wallet()
	var problems, fixes []string
	for _, p := range []struct {
		path string
		want os.FileMode
	}{
		{w.Dir(), 0o700},
		{w.Dir() + string(os.PathSeparator) + "hotkeys", 0o700},
		{w.HotkeyPath(), 0o600},
	} {
		fi, err := os.Stat(p.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the files' checks say so
		}
		if err != nil {
			problems = append(problems, err.Error())
			fixes = append(fixes, "run compute as the user that owns the wallet")
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			problems = append(problems, fmt.Sprintf("%s is mode %04o: others can read it", p.path, perm))
			fixes = append(fixes, fmt.Sprintf("chmod %04o %s", p.want, shellQuote(p.path)))
		}
	}
	if len(problems) > 0 {
		return fail(strings.Join(fixes, "; "), "%s", strings.Join(problems, "; ")), nil
	}
	return pass("hotkey 0600 or stricter, wallet directories 0700 or stricter"), nil
}

func checkChain(ctx context.Context, d *Doctor, _ state) (Result, func(*state)) {
	fix := "check --subtensor.network or --subtensor.chain_endpoint, and that the node is up and reachable from this host (for a localnet: compute localnet)"
	c, err := d.deps.OpenChain(ctx)
	if err != nil {
		return fail(fix, "cannot reach the chain: %v", err), nil
	}
	b, err := c.Block(ctx)
	if err != nil {
		if cl, ok := c.(io.Closer); ok {
			cl.Close()
		}
		return fail(fix, "the chain does not answer: %v", err), nil
	}
	return pass("block %d", b), func(s *state) { s.chain = c }
}

func checkRegistration(ctx context.Context, d *Doctor, s state) (Result, func(*state)) {
	if s.hotkey == "" || s.chain == nil {
		return skip("needs the hotkey and the chain (see above)"), nil
	}
	n, err := s.chain.NeuronByHotkey(ctx, d.cfg.Netuid, s.hotkey)
	switch {
	case errors.Is(err, chain.ErrNotRegistered):
		return fail(fmt.Sprintf("register it with `compute register --netuid %d %s%s` (it burns the registration cost from the coldkey), or check --netuid and --wallet.hotkey", d.cfg.Netuid, d.walletArgs(), d.chainArgs()),
			"hotkey %s is not registered on netuid %d", s.hotkey, d.cfg.Netuid), nil
	case errors.Is(err, chain.ErrSubnetNotFound):
		return fail("check --netuid and the chain (--subtensor.network)", "netuid %d does not exist on this chain", d.cfg.Netuid), nil
	case err != nil:
		return fail("try again; check the chain node", "read the registration of %s: %v", s.hotkey, err), nil
	}
	return pass("uid %d on netuid %d (stake %.4f TAO)", n.UID, d.cfg.Netuid, n.Stake), func(s *state) { s.neuron = n }
}

func checkPermit(_ context.Context, d *Doctor, s state) (Result, func(*state)) {
	if s.neuron == nil {
		return skip("needs the registration (see above)"), nil
	}
	if !s.neuron.ValidatorPermit {
		return warn("stake more on the hotkey: permits go to the subnet's highest stakes at each epoch; until then miners refuse this validator's requests",
			"uid %d has no validator permit (stake %.4f TAO)", s.neuron.UID, s.neuron.Stake), nil
	}
	return pass("uid %d holds a validator permit", s.neuron.UID), nil
}

// blockTimer is the part of chain.Chain that tells the block interval.
type blockTimer interface {
	WeightsInfo(ctx context.Context, netuid uint16, hotkey string) (*chain.WeightsInfo, error)
}

// checkClock compares this host's clock with the timestamp of the chain's
// latest block. A block is stamped when it is made, so right after one
// arrives the two agree to within the network's delay; a stamp older than one
// block interval is checked again as soon as the next block comes, to tell a
// skewed clock from a block that is simply not new.
func checkClock(ctx context.Context, d *Doctor, s state) (Result, func(*state)) {
	if s.chain == nil {
		return skip("needs the chain (see above)"), nil
	}
	clock, ok := s.chain.(chain.BlockClock)
	if !ok {
		return skip("this chain client does not read block timestamps"), nil
	}
	interval := defaultBlockTime
	if bt, ok := s.chain.(blockTimer); ok && s.hotkey != "" {
		if info, err := bt.WeightsInfo(ctx, d.cfg.Netuid, s.hotkey); err == nil && info.BlockTime > 0 {
			interval = info.BlockTime
		}
	}
	fixClock := "synchronise this host's clock: timedatectl set-ntp true (systemd-timesyncd), or install chrony; check with timedatectl status"
	b, at, err := clock.BlockTimestamp(ctx)
	if err != nil {
		return fail("try again; check the chain node", "read the latest block's timestamp: %v", err), nil
	}
	skew := d.deps.Now().Sub(at)
	if skew >= -ClockWarnSkew && skew <= interval+ClockWarnSkew {
		return pass("block %d stamped %s ago (block interval %v)", b, round(skew), interval), nil
	}
	// Wait for the next block and compare again at once; the wait ends
	// before the check's own time limit, so that a stalled chain is told
	// apart from one that does not answer.
	wait := 2*interval + ClockWarnSkew
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)*3/4)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	next, err := s.chain.WaitBlock(wctx, b)
	cancel()
	if err != nil {
		return warn("check that the chain node is synced and producing blocks (another --subtensor.chain_endpoint?), then run the doctor again",
			"this host's clock is %s the stamp of block %d, and no newer block came: cannot tell a skewed clock from a stalled chain (%v)", signed(skew), b, err), nil
	}
	nb, at, err := clock.BlockTimestamp(ctx)
	if err != nil {
		return fail("try again; check the chain node", "read the timestamp of block %d: %v", next, err), nil
	}
	skew = d.deps.Now().Sub(at)
	abs := max(skew, -skew)
	switch {
	case abs > ClockFailSkew:
		return fail(fixClock, "this host's clock is %s the chain's (block %d): peers refuse requests signed with a clock more than %v off", signed(skew), nb, ClockWarnSkew), nil
	case abs > ClockWarnSkew:
		return warn(fixClock, "this host's clock is %s the chain's (block %d)", signed(skew), nb), nil
	}
	return pass("block %d stamped %s ago", nb, round(skew)), nil
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// signed words a clock difference (this host's minus the chain's).
func signed(d time.Duration) string {
	if d < 0 {
		return (-d).Round(time.Millisecond).String() + " behind"
	}
	return d.Round(time.Millisecond).String() + " ahead of"
}

// announced is the neuron's axon address, or why there is none to check.
func announced(s state) (netip.AddrPort, *Result) {
	if s.neuron == nil {
		r := skip("needs the registration (see above)")
		return netip.AddrPort{}, &r
	}
	ip, err := netip.ParseAddr(s.neuron.Axon.IP)
	if err != nil || ip.IsUnspecified() || s.neuron.Axon.Port == 0 {
		r := skip("no axon announced yet (see axon-address)")
		return netip.AddrPort{}, &r
	}
	return netip.AddrPortFrom(ip.Unmap(), s.neuron.Axon.Port), nil
}

func (d *Doctor) wantPort() int {
	if d.cfg.ExternalPort != 0 {
		return d.cfg.ExternalPort
	}
	return d.cfg.AxonPort
}

// checkAxonAddress: the axon on chain is the one this miner announces: its IP
// is --axon.external_ip when given, else one of this host's addresses, and
// its port the external (else the listening) port.
func checkAxonAddress(_ context.Context, d *Doctor, s state) (Result, func(*state)) {
	if s.neuron == nil {
		return skip("needs the registration (see above)"), nil
	}
	ax := s.neuron.Axon
	ip, err := netip.ParseAddr(ax.IP)
	if err != nil || ip.IsUnspecified() || ax.Port == 0 {
		return fail(fmt.Sprintf("start the miner (compute miner --netuid %d %s%s): it announces its axon when it starts", d.cfg.Netuid, d.walletArgs(), d.chainArgs()),
			"uid %d has announced no axon (%s:%d)", s.neuron.UID, ax.IP, ax.Port), nil
	}
	ip = ip.Unmap()
	at := netip.AddrPortFrom(ip, ax.Port)
	restart := "restart the miner with the same flags as this check: it announces the new address at start-up"
	if ext := d.cfg.ExternalIP; ext != "" {
		want, _ := netip.ParseAddr(ext)
		if want.Unmap() != ip {
			return fail(restart, "the chain has %s, but --axon.external_ip is %s", at, ext), nil
		}
	} else {
		addrs, err := d.deps.Host.Addrs()
		if err != nil {
			return fail("check the host's network configuration", "list this host's addresses: %v", err), nil
		}
		if !slices.Contains(addrs, ip) {
			return fail("behind NAT or a proxy, give the public address with --axon.external_ip (and --axon.external_port when the router forwards another port), then restart the miner; otherwise restart it from this host",
				"the chain has %s, which is none of this host's addresses (%s)", at, addrList(addrs)), nil
		}
	}
	if want := d.wantPort(); want != 0 && int(ax.Port) != want {
		return fail(restart, "the chain has port %d, but this miner announces %d (--axon.external_port, else --axon.port)", ax.Port, want), nil
	}
	if !d.cfg.LocalChain && (ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast()) {
		return warn("give the public address with --axon.external_ip, forward the axon port to this host, and restart the miner",
			"%s is a private address: validators on the internet cannot reach it", at), nil
	}
	return pass("%s (uid %d, version %d)", at, s.neuron.UID, ax.Version), nil
}

func addrList(as []netip.Addr) string {
	var ss []string
	for _, a := range as {
		if !a.IsLoopback() {
			ss = append(ss, a.String())
		}
	}
	if len(ss) == 0 {
		return "none but loopback"
	}
	return strings.Join(ss, ", ")
}

// connect dials addr from this host and says how it went: nil when it
// answered, else the error (refused or timed out).
func (d *Doctor) connect(ctx context.Context, addr netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := d.deps.Host.Dial(ctx, addr.String())
	if err != nil {
		return err
	}
	return c.Close()
}

func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// hairpin notes that a connection from this host to its public address may
// not take the path a validator's does.
func (d *Doctor) hairpin() string {
	if d.cfg.ExternalIP == "" {
		return ""
	}
	return " (tried from this host: a router without hairpin NAT refuses this even when the port is open to the internet; check from another machine with nc -vz)"
}

func checkAxonPort(ctx context.Context, d *Doctor, s state) (Result, func(*state)) {
	at, r := announced(s)
	if r != nil {
		return *r, nil
	}
	err := d.connect(ctx, at)
	switch {
	case err == nil:
		return pass("%s accepts connections", at), nil
	case refused(err):
		return fail(fmt.Sprintf("start the miner (compute miner --axon.port %d ...) and keep it running (compute service install miner); if it runs, the announced port is not the one it listens on: check --axon.port and --axon.external_port", d.cfg.AxonPort),
			"nothing listens on %s: connection refused%s", at, d.hairpin()), nil
	case timedOut(err):
		return fail(fmt.Sprintf("open TCP port %d to the internet: ufw allow %d/tcp, or the cloud provider's security group; behind NAT, forward it to this host", at.Port(), at.Port()),
			"%s does not answer within %v: a firewall drops the connection%s", at, dialTimeout, d.hairpin()), nil
	}
	return fail("check the host's routing and firewall", "connect to %s: %v", at, err), nil
}

// checkSSHPort: the lease SSH port on the announced address. Nothing listens
// there while no lease runs, so a refusal passes: it shows that no firewall
// drops the port; a silent drop fails.
func checkSSHPort(ctx context.Context, d *Doctor, s state) (Result, func(*state)) {
	if !d.cfg.Allocation {
		return skip("allocation is off (--miner.allocation=false)"), nil
	}
	ax, r := announced(s)
	if r != nil {
		return *r, nil
	}
	port := d.cfg.SSHPort
	if port == 0 {
		port = container.DefaultSSHPort
	}
	at := netip.AddrPortFrom(ax.Addr(), uint16(port))
	err := d.connect(ctx, at)
	switch {
	case err == nil:
		return pass("%s accepts connections (a lease is running)", at), nil
	case refused(err):
		return pass("%s is closed but not filtered: it opens when a lease starts", at), nil
	case timedOut(err):
		return fail(fmt.Sprintf("open TCP port %d to the internet: ufw allow %d/tcp, or the cloud provider's security group; behind NAT, forward it to this host", port, port),
			"%s does not answer within %v: a firewall drops the connection, so renters could not log in to a lease%s", at, dialTimeout, d.hairpin()), nil
	}
	return fail("check the host's routing and firewall", "connect to %s: %v", at, err), nil
}

// dockerFix words the fix for a daemon that cannot be used.
func dockerFix(err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "permission denied"):
		return "give the user running compute access to the socket: usermod -aG docker <user>, then log in again (the service unit adds SupplementaryGroups=docker)"
	default:
		return "start the Docker daemon (systemctl enable --now docker; install it with apt-get install docker.io), and check DOCKER_HOST (unset it for the local socket /var/run/docker.sock)"
	}
}

func checkDocker(ctx context.Context, d *Doctor, _ state) (Result, func(*state)) {
	if !d.cfg.Allocation {
		return skip("allocation is off (--miner.allocation=false)"), nil
	}
	cli, err := d.deps.OpenDocker(ctx)
	if err != nil {
		return fail(dockerFix(err), "%v", err), nil
	}
	ping, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		cli.Close()
		return fail(dockerFix(err), "the Docker daemon does not answer: %v", err), nil
	}
	keep := func(s *state) { s.docker = cli }
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return fail(dockerFix(err), "docker info: %v", err), keep
	}
	i := info.Info
	return pass("Docker %s, API %s, %s", i.ServerVersion, ping.APIVersion, i.OperatingSystem), func(s *state) {
		s.docker, s.dockerInfo = cli, &i
	}
}

func checkLeaseImage(ctx context.Context, d *Doctor, s state) (Result, func(*state)) {
	if !d.cfg.Allocation {
		return skip("allocation is off (--miner.allocation=false)"), nil
	}
	if s.docker == nil {
		return skip("needs Docker (see above)"), nil
	}
	image := d.cfg.Image
	if image == "" {
		image = container.DefaultImage
	}
	res, err := s.docker.ImageInspect(ctx, image)
	switch {
	case cerrdefs.IsNotFound(err):
		return fail(fmt.Sprintf("build it with `compute miner image build --miner.image %s` (needs the base image's registry), or import a root file system with `compute miner image import --miner.image %s ROOTFS.tar`", shellQuote(image), shellQuote(image)),
			"lease image %s is missing: allocations would fail", image), nil
	case err != nil:
		return fail(dockerFix(err), "inspect lease image %s: %v", image, err), nil
	}
	id := res.ID
	if len(id) > 19 {
		id = id[:19]
	}
	return pass("%s (%s, %d MiB)", image, id, res.Size>>20), nil
}

// checkIsolation: what the lease manager needs to firewall each lease and
// give it a disk of its own (internal/container's firewall and loop volumes):
// root, iptables, loop devices, mkfs.ext4 and mount. Without them leases
// still run, less isolated, so this warns.
func checkIsolation(_ context.Context, d *Doctor, _ state) (Result, func(*state)) {
	if !d.cfg.Allocation {
		return skip("allocation is off (--miner.allocation=false)"), nil
	}
	h := d.deps.Host
	if uid := h.Euid(); uid != 0 {
		return warn("run the miner as root to isolate leases: compute service install miner --user root ... (see docs/deploy.md); run this check as the miner's user",
			"as uid %d the miner cannot firewall leases (iptables) nor give them disks of their own (loop mounts): leases reach this host's services and the cloud metadata address, and their disk size is enforced only by a storage-driver quota", uid), nil
	}
	var missing, fixes []string
	for _, t := range []struct{ tool, pkg string }{{"iptables", "iptables"}, {"mkfs.ext4", "e2fsprogs"}, {"mount", "mount"}} {
		if _, err := h.LookPath(t.tool); err != nil {
			missing = append(missing, t.tool)
			fixes = append(fixes, "apt-get install "+t.pkg)
		}
	}
	if !h.Exists("/dev/loop-control") {
		missing = append(missing, "/dev/loop-control")
		fixes = append(fixes, "modprobe loop")
	}
	if len(missing) > 0 {
		return warn(strings.Join(fixes, "; "), "leases are less isolated: %s missing", strings.Join(missing, ", ")), nil
	}
	return pass("root, iptables and loop devices: leases are firewalled and get disks of their own"), nil
}

func checkGPU(ctx context.Context, d *Doctor, _ state) (Result, func(*state)) {
	inv, err := d.deps.GPUs(ctx)
	if err != nil {
		return fail("check the driver with nvidia-smi; after a driver upgrade reboot, else reinstall the NVIDIA driver",
			"NVML fails: %v", err), nil
	}
	keep := func(s *state) { s.gpus = &inv }
	if inv.Count() > 0 {
		names := map[string]int{}
		var order []string
		for _, g := range inv.GPUs {
			if names[g.Name] == 0 {
				order = append(order, g.Name)
			}
			names[g.Name]++
		}
		var parts []string
		for _, n := range order {
			parts = append(parts, fmt.Sprintf("%d x %s", names[n], n))
		}
		return pass("%s; driver %s, CUDA %s", strings.Join(parts, ", "), inv.DriverVersion, inv.CUDAVersion), keep
	}
	pci, err := d.deps.Host.NVIDIADevices()
	if err == nil && pci > 0 {
		return fail("install the NVIDIA driver (nvidia-smi must list the GPUs) and use a compute binary built without the nogpu tag",
			"%d NVIDIA GPU(s) on the PCI bus, but NVML gives none: %s", pci, orDash(inv.Reason)), keep
	}
	return skip("no NVIDIA GPU (%s): CPU-only", orDash(inv.Reason)), keep
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// checkToolkit: Docker can hand GPUs to lease containers only through the
// NVIDIA container toolkit (its runtime hook, or the nvidia runtime).
func checkToolkit(_ context.Context, d *Doctor, s state) (Result, func(*state)) {
	if !d.cfg.Allocation {
		return skip("allocation is off (--miner.allocation=false)"), nil
	}
	if s.gpus == nil || s.gpus.Count() == 0 {
		return skip("no GPU to pass to leases"), nil
	}
	var found []string
	if s.dockerInfo != nil {
		if _, ok := s.dockerInfo.Runtimes["nvidia"]; ok {
			found = append(found, "Docker runtime nvidia")
		}
	}
	for _, p := range []string{"nvidia-container-runtime-hook", "nvidia-container-toolkit", "nvidia-ctk"} {
		if path, err := d.deps.Host.LookPath(p); err == nil {
			found = append(found, path)
		}
	}
	if len(found) == 0 {
		return fail("install nvidia-container-toolkit (NVIDIA's apt repository), then nvidia-ctk runtime configure --runtime=docker && systemctl restart docker",
			"Docker cannot give GPUs to lease containers: no NVIDIA container toolkit found"), nil
	}
	return pass("%s", strings.Join(found, ", ")), nil
}

func checkHashcat(ctx context.Context, d *Doctor, _ state) (Result, func(*state)) {
	if d.cfg.Solver != "hashcat" {
		solver := d.cfg.Solver
		if solver == "" {
			solver = "auto"
		}
		return skip("the solver is %s (--miner.solver)", solver), nil
	}
	v, err := d.deps.Hashcat(ctx, d.cfg.Hashcat)
	if err != nil {
		return fail("install hashcat 6.2.6 or newer (apt-get install hashcat; for GPUs NVIDIA's driver with OpenCL or CUDA), or give its binary with --miner.hashcat.path",
			"%v", err), nil
	}
	return pass("hashcat %s", v), nil
}

func checkDisk(_ context.Context, d *Doctor, _ state) (Result, func(*state)) {
	if d.cfg.DataDir == "" {
		return skip("no data directory given"), nil
	}
	dir := existingDir(d.cfg.DataDir)
	free, err := d.deps.Host.FreeBytes(dir)
	if err != nil {
		return fail("check the data directory (--miner.data_dir or --validator.data_dir)", "free space of %s: %v", dir, err), nil
	}
	flag := "--validator.data_dir"
	if d.cfg.Mode == Miner {
		flag = "--miner.data_dir"
	}
	fix := fmt.Sprintf("free space on the file system of %s (docker system prune removes unused images), or move the data with %s", dir, flag)
	switch {
	case free < DiskFailBytes:
		return fail(fix, "%s free on %s (under %s)", size(free), dir, size(DiskFailBytes)), nil
	case free < DiskWarnBytes:
		return warn(fix, "%s free on %s (under %s)", size(free), dir, size(DiskWarnBytes)), nil
	}
	return pass("%s free on %s", size(free), dir), nil
}

func size(b uint64) string {
	switch {
	case b >= 1<<30:
		return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB"
	default:
		return strconv.FormatUint(b>>20, 10) + " MiB"
	}
}

func checkNoFile(_ context.Context, d *Doctor, _ state) (Result, func(*state)) {
	soft, hard, err := d.deps.Host.NoFile()
	if err != nil {
		return fail("run ulimit -n to see the limit", "read RLIMIT_NOFILE: %v", err), nil
	}
	if soft < NoFileWarn {
		return warn("raise it to 65536 or more: LimitNOFILE=65536 in the systemd unit (compute service install sets it), nofile in /etc/security/limits.conf, or ulimit -n 65536 before starting compute",
			"open-files limit %d (hard %d), under %d: many concurrent requests run out of file descriptors", soft, hard, NoFileWarn), nil
	}
	return pass("%d (hard %d)", soft, hard), nil
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
