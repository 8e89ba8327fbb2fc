package renter

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

// Errors callers may test with errors.Is.
var (
	// ErrNoCandidate: no miner's stored specs meet the requirement.
	ErrNoCandidate = errors.New("no miner meets the requirement")
	// ErrNoneAvailable: candidates exist but none could be allocated.
	ErrNoneAvailable = errors.New("no candidate miner could be allocated")
	// ErrNotRecorded: there is no recorded allocation of that hotkey.
	ErrNotRecorded = errors.New("no allocation of this miner is recorded")
	// ErrRefused: the miner answered but refused the request.
	ErrRefused = errors.New("the miner refused")
	// ErrUnreachable: the miner is not in the metagraph, serves no axon or did not answer.
	ErrUnreachable = errors.New("the miner cannot be reached")
	// ErrAlreadyHeld: this validator already holds a lease on the miner
	// (a *HeldError says which).
	ErrAlreadyHeld = errors.New("you already hold a lease on this miner")
	// ErrAllHeld: every miner that meets the requirement is already leased
	// to this validator; it comes wrapped with ErrNoneAvailable.
	ErrAllHeld = errors.New("the miners that meet the requirement are already leased to you")
)

// HeldError is the lease this validator already holds on the miner asked
// for; errors.Is(err, ErrAlreadyHeld) holds.
type HeldError struct {
	Hotkey       string
	UID          uint16
	Since, Until time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%v: %s (uid %d) since %s, until %s", ErrAlreadyHeld, e.Hotkey, e.UID,
		e.Since.Local().Format(time.DateTime), e.Until.Local().Format(time.DateTime))
}

// Is makes errors.Is(err, ErrAlreadyHeld) hold.
func (e *HeldError) Is(target error) bool { return target == ErrAlreadyHeld }

// ReleaseError is a release the miner did not confirm, made without
// ReleaseOptions.Force: the local record is kept.
type ReleaseError struct {
	Hotkey string
	Err    error
}

func (e *ReleaseError) Error() string { return "release " + e.Hotkey + ": " + e.Err.Error() }

func (e *ReleaseError) Unwrap() error { return e.Err }

// Store is what the renter needs from the validator store; *store.Validator
// implements it.
type Store interface {
	Specs(ctx context.Context) (map[string]store.MinerSpecs, error)
	Stats(ctx context.Context, now time.Time) (map[string]score.Stats, error)
	Allocated(ctx context.Context, now time.Time) (map[string]bool, error)
	Allocations(ctx context.Context) ([]store.Allocation, error)
	SaveAllocation(ctx context.Context, a store.Allocation) error
	DeleteAllocation(ctx context.Context, hotkey string) (bool, error)
}

var _ Store = (*store.Validator)(nil)

// Metagraph reads a subnet's neurons; chain.Chain implements it.
type Metagraph interface {
	Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error)
}

// Config configures a Renter.
type Config struct {
	// Netuid is the subnet whose miners are rented.
	Netuid uint16
	// DataDir is the validator's data directory: allocation keys are kept
	// under it (DataDir/renter-keys, 0700). Required.
	DataDir string
	// CheckTimeout bounds each checking query (default 30 s).
	CheckTimeout time.Duration
	// AllocateTimeout bounds each real allocation or release (default 120 s).
	AllocateTimeout time.Duration
	// KeyBits is the RSA key size per allocation (default DefaultKeyBits).
	KeyBits int
	// Score ranks the candidates (default score.DefaultConfig()).
	Score *score.Config
}

// Deps are the renter's collaborators, opened by the caller. Meta, Store and
// Signer are required.
type Deps struct {
	// Meta reads the subnet's miners (a chain.Chain).
	Meta Metagraph
	// Store is the validator store; the caller opens and closes it.
	Store Store
	// Signer is the validator's hotkey: it signs every query.
	Signer wire.Signer
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Renter allocates miners. Create it with New.
type Renter struct {
	cfg      Config
	scoreCfg score.Config
	meta     Metagraph
	store    Store
	dendrite *wire.Dendrite
	log      *slog.Logger
	now      func() time.Time
}

// New checks cfg and deps and returns a renter; nothing is contacted.
func New(cfg Config, deps Deps) (*Renter, error) {
	if cfg.DataDir == "" {
		return nil, config.Errorf("renter.Config.DataDir", "a data directory is required")
	}
	if deps.Meta == nil || deps.Store == nil || deps.Signer == nil {
		return nil, errors.New("metagraph, store and signer are required")
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 30 * time.Second
	}
	if cfg.AllocateTimeout <= 0 {
		cfg.AllocateTimeout = 120 * time.Second
	}
	if cfg.KeyBits == 0 {
		cfg.KeyBits = DefaultKeyBits
	}
	if cfg.KeyBits < 2048 || cfg.KeyBits > 8192 {
		return nil, fmt.Errorf("RSA key size must be between 2048 and 8192 bits, got %d", cfg.KeyBits)
	}
	sc := score.DefaultConfig()
	if cfg.Score != nil {
		sc = *cfg.Score
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("score config: %w", err)
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: deps.Signer, Logger: deps.Log})
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	return &Renter{cfg: cfg, scoreCfg: sc, meta: deps.Meta, store: deps.Store, dendrite: d,
		log: deps.Log.With("component", "renter"), now: deps.Now}, nil
}

// Request is one allocation to make.
type Request struct {
	Requirement container.Requirement
	// Timeline is the lease length in days (1 to MaxTimeline).
	Timeline int
	// SSHKey is the renter's optional SSH public key (authorized_keys
	// syntax); with it the lease allows key login only.
	SSHKey string
	// SSHKeys are more renter SSH keys, installed with SSHKey (key login
	// only, as with SSHKey). Several keys need a miner that knows lease
	// actions; older ones refuse them as a malformed request.
	SSHKeys []string
	// Hotkey, when set, allocates this miner only, whatever its stored specs.
	Hotkey string
	// IdentityFile is the private key of SSHKey on the renter's machine, when
	// known: the printed ssh command names it with -i, and the record keeps
	// it for `compute allocate list`.
	IdentityFile string
}

// Allocation is a granted lease.
type Allocation struct {
	Hotkey      string                `json:"hotkey"`
	UID         uint16                `json:"uid"`
	IP          string                `json:"ip"`
	Port        int                   `json:"port"`
	Username    string                `json:"username"`
	Password    string                `json:"-"` // never stored; empty when KeyOnly
	KeyOnly     bool                  `json:"key_only"`
	Requirement container.Requirement `json:"resource"`
	Timeline    int                   `json:"timeline"`
	Score       float64               `json:"score"`
	// KeyFile is the allocation's RSA private key (the credentials are
	// encrypted to it, and releasing the lease needs it); not an SSH key.
	KeyFile     string `json:"key_file"`
	Fingerprint string `json:"key_fingerprint"`
	// IdentityFile is the renter's SSH private key for a key-only lease, when known.
	IdentityFile string `json:"identity_file,omitempty"`
	// SSHKeys are the renter's SSH keys installed on the lease (canonical, without
	// comments), as given at allocation or last set with SetSSHKeys.
	SSHKeys   []string  `json:"ssh_keys,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Disk is what the miner said of the disk asked for: container.DiskEnforced,
	// container.DiskNotEnforced, or empty (none asked, or the miner did not say).
	Disk string `json:"disk,omitempty"`
}

// Resources describes what the lease was given: the requirement, with the disk
// marked "not enforced" when the miner said so and "not confirmed" when it did
// not say.
func (a *Allocation) Resources() string {
	s := DescribeRequirement(a.Requirement)
	if a.Requirement.Disk.Capacity == 0 {
		return s
	}
	switch a.Disk {
	case container.DiskEnforced:
		return s + " (disk enforced)"
	case container.DiskNotEnforced:
		return s + " (disk NOT enforced by the miner)"
	}
	return s + " (disk limit not confirmed by the miner)"
}

// SSHCommand is the command that logs in; for a key-only lease whose SSH
// private key is known it names the key with -i.
func (a *Allocation) SSHCommand() string {
	if a.KeyOnly && a.IdentityFile != "" {
		return fmt.Sprintf("ssh -i %s %s@%s -p %d", shellQuote(a.IdentityFile), a.Username, a.IP, a.Port)
	}
	return fmt.Sprintf("ssh %s@%s -p %d", a.Username, a.IP, a.Port)
}

// shellQuote quotes s for a POSIX shell when it holds anything beyond
// letters, digits and / . _ - ~ + , : @.
func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/._-~+,:@", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Candidate is a miner considered for an allocation.
type Candidate struct {
	Hotkey string
	UID    uint16
	Target wire.Target
	Score  float64 // normalised score, 0..1
}

// Candidates returns the miners of the metagraph whose stored specs meet
// req and whose axon is served, best score first (ties by uid). Miners
// with unreadable specs, or whose specs failed a canary lease, are skipped
// and logged.
func (r *Renter) Candidates(ctx context.Context, req container.Requirement) ([]Candidate, error) {
	all, err := r.store.Specs(ctx)
	if err != nil {
		return nil, err
	}
	mg, err := r.meta.Metagraph(ctx, r.cfg.Netuid)
	if err != nil {
		return nil, fmt.Errorf("read the metagraph of netuid %d: %w", r.cfg.Netuid, err)
	}
	scores, err := r.scores(ctx)
	if err != nil {
		return nil, err
	}
	failed, err := r.unverified(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for i := range mg.Neurons {
		n := &mg.Neurons[i]
		ms, ok := all[n.Hotkey]
		if !ok || !served(n) {
			continue
		}
		if reason, bad := failed[n.Hotkey]; bad {
			r.log.Debug("specs failed a canary lease; miner skipped", "hotkey", n.Hotkey, "uid", n.UID, "reason", reason)
			continue
		}
		sp, err := ParseSpecs(ms.Details)
		if err != nil {
			r.log.Debug("stored specs unreadable; miner skipped", "hotkey", n.Hotkey, "uid", n.UID, "err", err)
			continue
		}
		if err := Meets(sp, req); err != nil {
			r.log.Debug("miner does not meet the requirement", "hotkey", n.Hotkey, "uid", n.UID, "why", err)
			continue
		}
		out = append(out, candidate(n, scores[n.Hotkey]))
	}
	rank(out)
	return out, nil
}

func candidate(n *chain.Neuron, s float64) Candidate {
	return Candidate{
		Hotkey: n.Hotkey,
		UID:    n.UID,
		Target: wire.NeuronTarget(*n),
		Score:  s,
	}
}

// rank orders candidates by score, best first, then by uid.
func rank(c []Candidate) {
	slices.SortStableFunc(c, func(a, b Candidate) int {
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		return cmp.Compare(a.UID, b.UID)
	})
}

func served(n *chain.Neuron) bool {
	return n.Axon.IP != "" && n.Axon.IP != "0.0.0.0" && n.Axon.Port != 0
}

// scores returns every known miner's normalised score (not allocated branch:
// the ranking is about how well the miner works).
func (r *Renter) scores(ctx context.Context) (map[string]float64, error) {
	stats, err := r.store.Stats(ctx, r.now())
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(stats))
	for hk, s := range stats {
		out[hk] = score.Score(r.scoreCfg, s, false).Normalized
	}
	return out, nil
}

// Allocate finds a miner for req and takes a lease on it: candidates from
// the stored specs (or the one miner req.Hotkey names) are asked whether
// they could take it, the willing ones are tried best score first until
// one grants the lease, its credentials are decrypted and the allocation is
// recorded in the store.
func (r *Renter) Allocate(ctx context.Context, req Request) (*Allocation, error) {
	if err := CheckTimeline(req.Timeline); err != nil {
		return nil, err
	}
	if err := req.Requirement.Validate(); err != nil {
		return nil, err
	}
	if req.SSHKey != "" {
		k, err := container.NormalizeSSHKey(req.SSHKey)
		if err != nil {
			return nil, config.Errorf("renter.Request.SSHKey", "%w", err)
		}
		req.SSHKey = k
	}
	// From here on req.SSHKeys holds every key, SSHKey first.
	keys, err := normalizeKeys(append([]string{req.SSHKey}, req.SSHKeys...))
	if err != nil {
		return nil, config.Errorf("renter.Request.SSHKeys", "%w", err)
	}
	req.SSHKey, req.SSHKeys = "", keys
	var cands []Candidate
	if req.Hotkey != "" {
		if err := r.notHeld(ctx, req.Hotkey); err != nil {
			return nil, err
		}
		cands, err = r.byHotkey(ctx, req.Hotkey)
	} else {
		cands, err = r.Candidates(ctx, req.Requirement)
	}
	if err != nil {
		return nil, err
	}
	cands, held, err := r.withoutHeld(ctx, cands)
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 && len(held) > 0 {
		return nil, fmt.Errorf("%w: %w (%s): %s",
			ErrNoneAvailable, ErrAllHeld, DescribeRequirement(req.Requirement), strings.Join(held, ", "))
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w (%s); the validator stores miners' specs as it queries them", ErrNoCandidate, DescribeRequirement(req.Requirement))
	}

	key, err := newAllocationKey(r.cfg.KeyBits)
	if err != nil {
		return nil, err
	}
	syn, err := r.synapse(req, key.publicPEM, true)
	if err != nil {
		return nil, err
	}
	willing := r.check(ctx, cands, syn)
	if len(willing) == 0 {
		return nil, fmt.Errorf("%w: none of the %d candidates can take the lease now (busy, unreachable or short of resources)", ErrNoneAvailable, len(cands))
	}
	// The key is on disk before any miner holds a lease for it, so a crash
	// after the grant still leaves the key to release it with.
	keyFile, err := key.save(r.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	syn.Checking = false
	var errs []error
	for _, c := range willing {
		a, err := r.allocateOne(ctx, c, syn, req, key, keyFile)
		if a != nil {
			return a, err // granted (err: granted but not recorded)
		}
		if ctx.Err() != nil {
			errs = append(errs, err)
			break
		}
		r.log.Info("miner did not allocate; trying the next", "hotkey", c.Hotkey, "uid", c.UID, "err", err)
		errs = append(errs, err)
	}
	if rmErr := removeKey(r.cfg.DataDir, keyFile); rmErr != nil {
		r.log.Warn("unused allocation key left behind", "file", keyFile, "err", rmErr)
	}
	return nil, fmt.Errorf("%w: %w", ErrNoneAvailable, errors.Join(errs...))
}

// notHeld refuses a miner this validator already holds an unexpired lease on.
func (r *Renter) notHeld(ctx context.Context, hotkey string) error {
	a, ok, err := r.lookup(ctx, hotkey)
	if err != nil || !ok {
		return err
	}
	if !a.ExpiresAt.IsZero() && !a.ExpiresAt.After(r.now()) {
		return nil // expired: a new lease replaces the record
	}
	return &HeldError{Hotkey: hotkey, UID: a.UID, Since: a.CreatedAt, Until: a.ExpiresAt}
}

// withoutHeld drops the candidates this validator already holds a lease
// on, and returns their hotkeys.
func (r *Renter) withoutHeld(ctx context.Context, cands []Candidate) ([]Candidate, []string, error) {
	allocated, err := r.store.Allocated(ctx, r.now())
	if err != nil {
		return nil, nil, err
	}
	var out []Candidate
	var held []string
	for _, c := range cands {
		if allocated[c.Hotkey] {
			held = append(held, c.Hotkey)
			r.log.Info("miner skipped: already leased to you", "hotkey", c.Hotkey, "uid", c.UID)
			continue
		}
		out = append(out, c)
	}
	return out, held, nil
}

// byHotkey returns the one miner a hotkey names, wherever its specs stand.
func (r *Renter) byHotkey(ctx context.Context, hotkey string) ([]Candidate, error) {
	if _, _, err := wallet.SS58Decode(hotkey); err != nil {
		return nil, config.Errorf("renter.Request.Hotkey", "%q is not an SS58 address: %w", hotkey, err)
	}
	n, err := r.neuron(ctx, hotkey)
	if err != nil {
		return nil, err
	}
	scores, err := r.scores(ctx)
	if err != nil {
		return nil, err
	}
	return []Candidate{candidate(n, scores[hotkey])}, nil
}

// neuron finds a served miner in the metagraph.
func (r *Renter) neuron(ctx context.Context, hotkey string) (*chain.Neuron, error) {
	mg, err := r.meta.Metagraph(ctx, r.cfg.Netuid)
	if err != nil {
		return nil, fmt.Errorf("read the metagraph of netuid %d: %w", r.cfg.Netuid, err)
	}
	n := mg.ByHotkey(hotkey)
	if n == nil {
		return nil, fmt.Errorf("%w: %s is not registered on netuid %d", ErrUnreachable, hotkey, r.cfg.Netuid)
	}
	if !served(n) {
		return nil, fmt.Errorf("%w: %s (uid %d) serves no axon", ErrUnreachable, hotkey, n.UID)
	}
	return n, nil
}

func (r *Renter) synapse(req Request, publicPEM string, checking bool) (*wire.Allocate, error) {
	syn := &wire.Allocate{}
	syn.Timeline = int64(req.Timeline)
	syn.Checking = checking
	syn.PublicKey = publicPEM
	b, err := json.Marshal(req.Requirement)
	if err != nil {
		return nil, fmt.Errorf("encode the requirement: %w", err)
	}
	syn.DeviceRequirement = b
	if len(req.SSHKeys) > 0 {
		// One key is the body older miners know; several go one a line.
		syn.DockerRequirement = &wire.DockerRequirement{SSHKey: strings.Join(req.SSHKeys, "\n")}
	}
	return syn, nil
}

// check asks every candidate concurrently whether it could take the lease
// and returns the willing ones in the candidates' order.
func (r *Renter) check(ctx context.Context, cands []Candidate, syn *wire.Allocate) []Candidate {
	reqs := make([]wire.Request[wire.Allocate], len(cands))
	for i, c := range cands {
		reqs[i] = wire.Request[wire.Allocate]{Target: c.Target, Synapse: syn.Clone()}
	}
	res := wire.Query(ctx, r.dendrite, reqs, r.cfg.CheckTimeout)
	var out []Candidate
	for i, c := range cands {
		switch {
		case !res[i].OK():
			r.log.Info("miner did not answer the check", "hotkey", c.Hotkey, "uid", c.UID,
				"status", res[i].StatusCode, "message", res[i].StatusMessage, "err", res[i].Err)
		case !res[i].Synapse.Output.Status:
			r.log.Info("miner cannot take the lease", "hotkey", c.Hotkey, "uid", c.UID)
		default:
			out = append(out, c)
		}
	}
	return out
}

func (r *Renter) allocateOne(ctx context.Context, c Candidate, syn *wire.Allocate, req Request, key *allocationKey, keyFile string) (*Allocation, error) {
	a, err := r.grant(ctx, c, syn, req, key)
	if err != nil {
		return nil, err
	}
	a.KeyFile = keyFile
	if err := r.record(ctx, a); err != nil {
		// The lease is real; say so rather than losing it.
		return a, fmt.Errorf("allocated %s but could not record it (release it with the key %s): %w", c.Hotkey, keyFile, err)
	}
	r.log.Info("allocated", "hotkey", a.Hotkey, "uid", a.UID, "ip", a.IP, "port", a.Port, "expires", a.ExpiresAt.Format(time.RFC3339))
	return a, nil
}

// grant asks c for the real lease and decrypts and checks its credentials;
// a lease that cannot be used is given back. Nothing is recorded.
func (r *Renter) grant(ctx context.Context, c Candidate, syn *wire.Allocate, req Request, key *allocationKey) (*Allocation, error) {
	res := wire.Call(ctx, r.dendrite, c.Target, syn.Clone(), r.cfg.AllocateTimeout)
	if !res.OK() {
		if res.StatusCode == http.StatusRequestTimeout && ctx.Err() == nil {
			// The miner may still finish the lease after we stopped waiting:
			// end it, or it would hold a lease nobody can use.
			r.giveBack(ctx, c, key)
		}
		return nil, fmt.Errorf("%w: %s (uid %d): %d %s", ErrUnreachable, c.Hotkey, c.UID, res.StatusCode, res.StatusMessage)
	}
	out := res.Synapse.Output
	if !out.Status || out.Info == "" {
		return nil, fmt.Errorf("%w: %s (uid %d) did not grant the lease", ErrRefused, c.Hotkey, c.UID)
	}
	creds, err := container.DecryptCredentials(key.priv, out.Info)
	if err != nil {
		// The miner holds a lease we cannot use: give it back.
		r.giveBack(ctx, c, key)
		return nil, fmt.Errorf("%s (uid %d) sent credentials that do not decrypt: %w", c.Hotkey, c.UID, err)
	}
	// The credentials come from the miner: the user name ends up in a printed ssh
	// command line (a name like "-oProxyCommand=..." would run a command on the
	// renter's machine) and the password on the renter's terminal (escape sequences).
	if creds.Port < 1 || creds.Port > 65535 || !userName(creds.Username) || (len(req.SSHKeys) == 0 && !password(creds.Password)) {
		r.giveBack(ctx, c, key)
		return nil, fmt.Errorf("%s (uid %d) sent unusable credentials (user %q, port %d)", c.Hotkey, c.UID, clip.String(strconv.QuoteToASCII(creds.Username), 40), creds.Port)
	}
	now := r.now()
	a := &Allocation{
		Hotkey:      c.Hotkey,
		UID:         c.UID,
		IP:          c.Target.IP,
		Port:        creds.Port,
		Username:    creds.Username,
		KeyOnly:     len(req.SSHKeys) > 0,
		SSHKeys:     req.SSHKeys,
		Requirement: req.Requirement,
		Timeline:    req.Timeline,
		Score:       c.Score,
		Fingerprint: key.fingerprint,
		CreatedAt:   now,
		ExpiresAt:   now.Add(time.Duration(req.Timeline) * 24 * time.Hour),
	}
	if a.KeyOnly {
		a.IdentityFile = req.IdentityFile
	}
	if creds.Disk == container.DiskEnforced || creds.Disk == container.DiskNotEnforced {
		a.Disk = creds.Disk // anything else from the miner is not printed
	}
	if !a.KeyOnly {
		a.Password = creds.Password
	}
	return a, nil
}

func (r *Renter) record(ctx context.Context, a *Allocation) error {
	// A stale record of the same miner (an expired lease) is replaced; its key goes too.
	if old, ok, err := r.lookup(ctx, a.Hotkey); err == nil && ok && old.KeyFile != a.KeyFile {
		if err := removeKey(r.cfg.DataDir, old.KeyFile); err != nil {
			r.log.Warn("old allocation key left behind", "file", old.KeyFile, "err", err)
		}
	}
	return r.save(ctx, a)
}

// save writes the allocation's record (a new one, or a changed one over the old).
func (r *Renter) save(ctx context.Context, a *Allocation) error {
	details, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode allocation: %w", err)
	}
	return r.store.SaveAllocation(ctx, store.Allocation{Hotkey: a.Hotkey, Details: details, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt})
}

// giveBack releases a lease that cannot be used, logging the outcome.
func (r *Renter) giveBack(ctx context.Context, c Candidate, key *allocationKey) {
	ok, err := r.release(ctx, c.Target, key)
	r.log.Warn("gave back an unusable lease", "hotkey", c.Hotkey, "uid", c.UID, "confirmed", ok, "err", err)
}

// release sends a deallocation with key and reports whether the miner confirmed it.
func (r *Renter) release(ctx context.Context, t wire.Target, key *allocationKey) (bool, error) {
	syn := &wire.Allocate{}
	syn.Timeline = 0
	syn.Checking = false
	syn.PublicKey = key.publicPEM
	res := wire.Call(ctx, r.dendrite, t, syn, r.cfg.AllocateTimeout)
	if !res.OK() {
		return false, fmt.Errorf("%w: %s (uid %d): %d %s", ErrUnreachable, t.Hotkey, t.UID, res.StatusCode, res.StatusMessage)
	}
	return res.Synapse.Output.Status, nil
}

// ReleaseOptions change how Release treats a miner that cannot confirm.
type ReleaseOptions struct {
	// Force forgets the local record (and key) even when the miner cannot
	// be reached or does not confirm, e.g. after the lease expired.
	Force bool
}

// Release ends the lease recorded for hotkey: it sends Allocate with
// timeline 0 and the allocation's public key, and on the miner's
// confirmation forgets the record and deletes the key.
func (r *Renter) Release(ctx context.Context, hotkey string, opts ReleaseOptions) error {
	a, ok, err := r.lookup(ctx, hotkey)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s (see `compute allocate list`)", ErrNotRecorded, hotkey)
	}
	relErr := func() error {
		key, err := loadKey(a.KeyFile)
		if err != nil {
			return err
		}
		n, err := r.neuron(ctx, hotkey)
		if err != nil {
			return err
		}
		t := wire.NeuronTarget(*n)
		confirmed, err := r.release(ctx, t, key)
		if err != nil {
			return err
		}
		if !confirmed {
			return fmt.Errorf("%w: %s (uid %d) holds no lease for this allocation's key (it may have expired)", ErrRefused, hotkey, n.UID)
		}
		return nil
	}()
	if relErr != nil && !opts.Force {
		return &ReleaseError{Hotkey: hotkey, Err: relErr}
	}
	if relErr != nil {
		r.log.Warn("miner did not confirm the release; forgetting the record anyway", "hotkey", hotkey, "err", relErr)
	}
	if _, err := r.store.DeleteAllocation(ctx, hotkey); err != nil {
		return err
	}
	if err := removeKey(r.cfg.DataDir, a.KeyFile); err != nil {
		r.log.Warn("allocation key left behind", "file", a.KeyFile, "err", err)
	}
	r.log.Info("released", "hotkey", hotkey, "confirmed", relErr == nil)
	return nil
}

// Records decodes stored allocation records. A record whose details cannot
// be read keeps its hotkey and dates.
func Records(recs []store.Allocation) []Allocation {
	out := make([]Allocation, 0, len(recs))
	for _, rec := range recs {
		out = append(out, decodeRecord(rec))
	}
	return out
}

func (r *Renter) lookup(ctx context.Context, hotkey string) (Allocation, bool, error) {
	recs, err := r.store.Allocations(ctx)
	if err != nil {
		return Allocation{}, false, err
	}
	for _, rec := range recs {
		if rec.Hotkey == hotkey {
			return decodeRecord(rec), true, nil
		}
	}
	return Allocation{}, false, nil
}

func decodeRecord(rec store.Allocation) Allocation {
	var a Allocation
	_ = json.Unmarshal(rec.Details, &a)
	a.Hotkey = rec.Hotkey
	a.CreatedAt = rec.CreatedAt
	a.ExpiresAt = rec.ExpiresAt
	return a
}

// userName reports whether s is a portable user name: a letter or '_' first, then
// letters, digits, '.', '_' or '-', at most 32 bytes (never an ssh option).
func userName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// password reports whether s is a printable password (visible ASCII, 1 to 128 bytes).
func password(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
