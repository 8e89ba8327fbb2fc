package hashcat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/pow"
)

// Defaults of the original miner's flags.
const (
	DefaultPath            = "hashcat"
	DefaultWorkloadProfile = 3
	DefaultExtendedOptions = "-O"
)

// minVersion is the oldest hashcat the solver runs.
var minVersion = [3]int{6, 2, 6}

// Options configures the solver (the miner's --miner.hashcat.* flags).
type Options struct {
	// Path is the hashcat binary (--miner.hashcat.path).
	Path string
	// WorkloadProfile is hashcat's -w, 1..4 (--miner.hashcat.workload.profile).
	WorkloadProfile int
	// ExtendedOptions are extra arguments split on spaces
	// (--miner.hashcat.extended.options); "None" means none.
	ExtendedOptions string
	// DeviceTypes overrides -D; empty means "2" (GPU) when hashcat sees a GPU,
	// else "1,2" so CPU devices (PoCL) are allowed.
	DeviceTypes string
	// TempDir is where per-run directories go; empty means os.TempDir().
	TempDir string
}

// Solver runs hashcat; it implements pow.Solver.
type Solver struct {
	opts    Options
	ext     []string
	version string
	log     *slog.Logger
}

var _ pow.Solver = (*Solver)(nil)

// New checks the hashcat binary (present, version >= 6.2.6), finds which
// device types to use and returns the solver. A missing or too old binary
// gives an error wrapping pow.ErrUnavailable.
func New(ctx context.Context, opts Options, log *slog.Logger) (*Solver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Path == "" {
		opts.Path = DefaultPath
	}
	if opts.WorkloadProfile == 0 {
		opts.WorkloadProfile = DefaultWorkloadProfile
	}
	if opts.WorkloadProfile < 1 || opts.WorkloadProfile > 4 {
		return nil, config.Errorf("hashcat.Options.WorkloadProfile", "must be 1..4, got %d", opts.WorkloadProfile)
	}
	s := &Solver{opts: opts, ext: SplitOptions(opts.ExtendedOptions), log: log.With("solver", "hashcat")}
	path, err := exec.LookPath(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("hashcat: binary %q not found (install hashcat >= 6.2.6 or give the path of its binary): %w", opts.Path, pow.ErrUnavailable)
	}
	s.opts.Path = path
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := s.command(vctx, "", "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("hashcat: run %s --version: %v: %w", path, err, pow.ErrUnavailable)
	}
	s.version = strings.TrimSpace(string(out))
	v, err := parseVersion(s.version)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, pow.ErrUnavailable)
	}
	if less(v, minVersion) {
		return nil, fmt.Errorf("hashcat: version %s at %s is older than 6.2.6; upgrade hashcat: %w", s.version, path, pow.ErrUnavailable)
	}
	if s.opts.DeviceTypes == "" {
		s.opts.DeviceTypes = "2"
		if !s.hasGPU(ctx) {
			s.opts.DeviceTypes = "1,2"
			s.log.Info("hashcat sees no GPU; allowing CPU devices", "device_types", s.opts.DeviceTypes)
		}
	}
	return s, nil
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// SplitOptions splits extended options on white space; "" gives the
// default "-O" and "None" (any case) gives none.
func SplitOptions(s string) []string {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "":
		return []string{DefaultExtendedOptions}
	case "none":
		return nil
	}
	return strings.Fields(s)
}

func (s *Solver) hasGPU(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := s.command(ctx, "", "-I", "--quiet").CombinedOutput()
	if err != nil {
		s.log.Debug("hashcat -I failed", "err", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "Type") && strings.Contains(line, "GPU") {
			return true
		}
	}
	return false
}

// Name implements pow.Solver.
func (s *Solver) Name() string { return "hashcat" }

// Version is what `hashcat --version` printed.
func (s *Solver) Version() string { return s.version }

// DeviceTypes is the -D value in use.
func (s *Solver) DeviceTypes() string { return s.opts.DeviceTypes }

// Close implements pow.Solver.
func (s *Solver) Close() error { return nil }

func (s *Solver) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.opts.Path, args...)
	cmd.Dir = dir
	setProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// Args returns hashcat's arguments for the job (the hash line first) and the
// hash line "$BLAKE2$<hex>:<salt>".
func (s *Solver) Args(job *pow.Job) ([]string, string, error) {
	mask, sets, err := maskFor(job)
	if err != nil {
		return nil, "", err
	}
	hashLine := pow.HashPrefix + hex.EncodeToString(job.Target[:]) + ":" + string(job.Salt)
	args := []string{hashLine, "-a", "3", "-D", s.opts.DeviceTypes, "-m", "610"}
	if len(sets) > 0 {
		args = append(args, "--hex-charset")
	}
	for i, cs := range sets {
		args = append(args, "-"+strconv.Itoa(i+1), hex.EncodeToString(cs))
	}
	args = append(args, mask, "-w", strconv.Itoa(s.opts.WorkloadProfile))
	args = append(args, s.ext...)
	return args, hashLine, nil
}

// maskFor rebuilds a hashcat mask from the job: single printable characters
// stay literal, every distinct charset becomes one of ?1..?4.
func maskFor(job *pow.Job) (string, [][]byte, error) {
	var mask strings.Builder
	var sets [][]byte
	for pos, cs := range job.Charsets {
		if len(cs) == 0 {
			return "", nil, fmt.Errorf("%w: empty charset at position %d", pow.ErrInvalidChallenge, pos)
		}
		if len(cs) == 1 && cs[0] >= 0x20 && cs[0] < 0x7f {
			if cs[0] == '?' {
				mask.WriteString("??")
			} else {
				mask.WriteByte(cs[0])
			}
			continue
		}
		n := -1
		for i, s := range sets {
			if bytes.Equal(s, cs) {
				n = i
			}
		}
		if n < 0 {
			if len(sets) == 4 {
				return "", nil, fmt.Errorf("%w: the mask needs more than 4 custom charsets, which hashcat cannot take", pow.ErrInvalidChallenge)
			}
			sets = append(sets, cs)
			n = len(sets) - 1
		}
		mask.WriteString("?" + strconv.Itoa(n+1))
	}
	return mask.String(), sets, nil
}

// Solve implements pow.Solver: one hashcat process per job.
func (s *Solver) Solve(ctx context.Context, job *pow.Job) (string, error) {
	if job == nil || len(job.Charsets) == 0 {
		return "", fmt.Errorf("%w: empty job", pow.ErrInvalidChallenge)
	}
	args, hashLine, err := s.Args(job)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(s.opts.TempDir, "compute-hashcat-")
	if err != nil {
		return "", fmt.Errorf("hashcat: make run directory: %w", err)
	}
	defer os.RemoveAll(dir)
	var id [6]byte
	_, _ = rand.Read(id[:])
	outfile := filepath.Join(dir, "cracked.txt")
	args = append(args,
		"--potfile-disable", "--restore-disable", "--logfile-disable",
		"--session", "compute-"+hex.EncodeToString(id[:]),
		"--outfile", outfile, "--outfile-format", "2",
		"--status-timer", "1", "--quiet")
	cmd := s.command(ctx, dir, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	t0 := time.Now()
	s.log.Debug("running hashcat", "args", args)
	runErr := cmd.Run()
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("hashcat: %w", context.Cause(ctx))
	}
	var cands []string
	if b, err := os.ReadFile(outfile); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if line == "" {
				continue
			}
			if p, err := ParsePlain(line); err == nil {
				cands = append(cands, p)
			}
		}
	}
	cands = append(cands, ParseOutput(out.Bytes(), hashLine)...)
	for _, c := range cands {
		if job.Check([]byte(c)) {
			s.log.Debug("hashcat solved", "elapsed", time.Since(t0))
			return c, nil
		}
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) && ee.ExitCode() == 1 {
		return "", pow.ErrNotFound
	}
	if runErr == nil {
		return "", fmt.Errorf("hashcat: finished without a verified password")
	}
	return "", fmt.Errorf("hashcat: %w: %s", runErr, tail(out.String(), 400))
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Throughput runs `hashcat -b -m 610` for the configured device types,
// workload profile and options and returns the total hash rate.
func (s *Solver) Throughput(ctx context.Context, _ time.Duration) (float64, error) {
	dir, err := os.MkdirTemp(s.opts.TempDir, "compute-hashcat-")
	if err != nil {
		return 0, fmt.Errorf("hashcat: make run directory: %w", err)
	}
	defer os.RemoveAll(dir)
	args := append([]string{"-b", "-m", "610", "-D", s.opts.DeviceTypes, "-w", strconv.Itoa(s.opts.WorkloadProfile)}, s.ext...)
	cmd := s.command(ctx, dir, args...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("hashcat: %w", context.Cause(ctx))
	}
	v, perr := ParseSpeed(out)
	if perr != nil {
		if err != nil {
			return 0, fmt.Errorf("hashcat -b: %w: %s", err, tail(string(out), 400))
		}
		return 0, perr
	}
	return v, nil
}
