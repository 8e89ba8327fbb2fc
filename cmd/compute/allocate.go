package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/sharedstate"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/validator"
	"github.com/sn27/compute/internal/wallet"
)

// maxSSHKeyFile bounds the --ssh-key file read.
const maxSSHKeyFile = 16 << 10

// allocateOptions are the flags `compute allocate` and its subcommands share.
type allocateOptions struct {
	co        chainOptions
	wo        walletOptions
	hotkeyURI string
	dataDir   string
}

func (o *allocateOptions) addFlags(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	o.co.AddFlags(fs)
	o.wo.AddFlags(fs)
	fs.StringVar(&o.hotkeyURI, "hotkey-uri", "", "development secret URI (e.g. //Bob//validator) to sign with instead of the wallet's hotkey")
	fs.StringVar(&o.dataDir, "validator.data_dir", "", "the validator's data directory: its store (specs, scores, allocations) and the allocation keys (default ~/.bittensor/compute/validator/<wallet>/<hotkey>/netuid<N>)")
}

// dir returns the data directory, created with mode 0700.
func (o *allocateOptions) dir() (string, error) {
	dir := o.dataDir
	if dir == "" {
		var err error
		if dir, err = validator.DefaultDataDir(o.wo.Name, o.wo.Hotkey, o.co.Netuid); err != nil {
			return "", fmt.Errorf("flag 'validator.data_dir' is needed: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	return dir, nil
}

func (o *allocateOptions) openStore(ctx context.Context) (*store.Validator, string, error) {
	dir, err := o.dir()
	if err != nil {
		return nil, "", err
	}
	st, err := store.OpenValidator(ctx, filepath.Join(dir, store.ValidatorFile), store.DefaultValidatorConfig())
	if err != nil {
		return nil, "", fmt.Errorf("open the validator store in %s: %w", dir, err)
	}
	return st, dir, nil
}

// recorded refuses a hotkey with no allocation in the store.
func (o *allocateOptions) recorded(ctx context.Context, hotkey string) error {
	st, dir, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	recs, err := st.Allocations(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.Hotkey == hotkey {
			return nil
		}
	}
	return fmt.Errorf("%w: %s in %s (see `compute allocate list`)", renter.ErrNotRecorded, hotkey, filepath.Join(dir, store.ValidatorFile))
}

// open wires a renter: store, chain and the signing hotkey. close releases the store.
func (o *allocateOptions) open(cmd *cobra.Command, g *globalOptions, cfg renter.Config) (r *renter.Renter, closeFn func(), err error) {
	ctx := cmd.Context()
	var signer *wallet.Keypair
	if o.hotkeyURI != "" {
		signer, err = wallet.FromURI(o.hotkeyURI)
	} else {
		signer, err = o.wo.Open().Hotkey()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("hotkey: %w", err)
	}
	log := g.QuietLogger(cmd.ErrOrStderr())
	c, err := o.co.Open(cmd, log)
	if err != nil {
		return nil, nil, err
	}
	st, dir, err := o.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	cfg.Netuid = o.co.Netuid
	cfg.DataDir = dir
	r, err = renter.New(cfg, renter.Deps{Meta: c, Store: st, Signer: signer, Log: log})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return r, func() { st.Close() }, nil
}

func newAllocateCommand(g *globalOptions) *cobra.Command {
	var (
		o           allocateOptions
		res         = renter.DefaultResources()
		requirement string
		timeline    int
		sshKeyPath  string
		hotkey      string
		checkTO     time.Duration
		allocTO     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "allocate",
		Short: "Rent a miner's machine as a container reachable by SSH",
		Long: `allocate rents a miner's machine for --timeline days (at most 60) as a container reachable
by SSH, signing with the validator's hotkey.

By requirement (--requirement JSON, or the resource flags): the miners whose last specs in the
validator's store meet it are asked whether they could take the lease; the willing ones are tried
best score first until one grants it. With --hotkey, only that miner is asked.

The credentials come encrypted to an RSA key made for this allocation; its private key is kept
(mode 0600) under --validator.data_dir/renter-keys, and the allocation is recorded in the
validator's store (never the password). With --ssh-key the container allows key login only and
no password is printed.

Sizes take units: 1073741824, 1GiB, 512MiB, 10GB. --gpu.capacity is per GPU, in MB when bare.

Examples:
  compute allocate --cpu.count 2 --ram 8GiB --disk 50GiB --gpu.type 4090 --gpu.capacity 24GiB
  compute allocate --requirement '{"cpu":{"count":1},"gpu":{},"hard_disk":{"capacity":10737418240},"ram":{"capacity":1073741824}}'
  compute allocate --hotkey 5F... --ssh-key ~/.ssh/id_ed25519.pub --timeline 7
  compute allocate list
  compute allocate restart --hotkey 5F...
  compute allocate extend --hotkey 5F... --days 3
  compute allocate keys set --hotkey 5F... --ssh-key a.pub --ssh-key b.pub
  compute allocate release --hotkey 5F...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := allocationRequest(cmd, res, requirement, timeline, sshKeyPath, hotkey)
			if err != nil {
				return usageError{err}
			}
			r, closeFn, err := o.open(cmd, g, renter.Config{CheckTimeout: checkTO, AllocateTimeout: allocTO})
			if err != nil {
				return err
			}
			defer closeFn()
			a, err := r.Allocate(cmd.Context(), req)
			if a != nil {
				printAllocation(cmd.OutOrStdout(), a)
			}
			return err
		},
	}
	o.addFlags(cmd)
	fs := cmd.Flags()
	fs.StringVar(&requirement, "requirement", "", `device requirement as JSON, e.g. {"cpu":{"count":1},"gpu":{"count":1,"capacity":24576,"type":"4090"},"hard_disk":{"capacity":10737418240},"ram":{"capacity":1073741824}} (instead of the resource flags)`)
	fs.IntVar(&res.CPUCount, "cpu.count", res.CPUCount, "CPUs")
	fs.IntVar(&res.GPUCount, "gpu.count", 0, "GPUs (1 when --gpu.type or --gpu.capacity is given)")
	fs.StringVar(&res.GPUType, "gpu.type", "", "GPU model, matched as a case-insensitive part of the GPU's name (e.g. 4090, A100)")
	fs.StringVar(&res.GPUCapacity, "gpu.capacity", "", "memory per GPU: MB when bare, or with a unit (24GiB)")
	fs.StringVar(&res.RAM, "ram", res.RAM, "memory (e.g. 8GiB)")
	fs.StringVar(&res.Disk, "disk", "", "disk space (e.g. 50GiB; none: no disk quota)")
	fs.IntVar(&timeline, "timeline", renter.DefaultTimeline, fmt.Sprintf("lease length in days (1 to %d)", renter.MaxTimeline))
	fs.StringVar(&sshKeyPath, "ssh-key", "", "SSH public key file (e.g. ~/.ssh/id_ed25519.pub) for key-only login (more keys later with `compute allocate keys add`)")
	fs.StringVar(&hotkey, "hotkey", "", "allocate this miner (SS58 hotkey) instead of choosing by specs and score")
	fs.DurationVar(&checkTO, "timeout.check", 30*time.Second, "time limit of each miner's answer to the check")
	fs.DurationVar(&allocTO, "timeout.allocate", 2*time.Minute, "time limit of each real allocation")
	cmd.AddCommand(newAllocateReleaseCommand(g, &o), newAllocateListCommand(g, &o),
		newAllocateRestartCommand(g, &o), newAllocateExtendCommand(g, &o), newAllocateKeysCommand(g, &o))
	return cmd
}

// usageError makes bad flags exit with the usage code.
type usageError struct{ error }

func (e usageError) ExitCode() int { return exitUsage }
func (e usageError) Unwrap() error { return e.error }

// allocationRequest turns the flags into a renter.Request.
func allocationRequest(cmd *cobra.Command, res renter.Resources, requirement string, timeline int, sshKeyPath, hotkey string) (renter.Request, error) {
	req := renter.Request{Timeline: timeline, Hotkey: strings.TrimSpace(hotkey)}
	if err := renter.CheckTimeline(timeline); err != nil {
		return req, err
	}
	if err := hotkeyFlag(req.Hotkey); err != nil {
		return req, err
	}
	var err error
	if requirement != "" {
		for _, f := range []string{"cpu.count", "gpu.count", "gpu.type", "gpu.capacity", "ram", "disk"} {
			if cmd.Flags().Changed(f) {
				return req, fmt.Errorf("give either --requirement or --%s, not both", f)
			}
		}
		req.Requirement, err = renter.ParseRequirement(requirement)
		if err != nil {
			return req, fmt.Errorf("flag 'requirement': %w", err)
		}
	} else if req.Requirement, err = res.Requirement(); err != nil {
		return req, err
	}
	if sshKeyPath != "" {
		key, err := readSSHKey(sshKeyPath)
		if err != nil {
			return req, err
		}
		if req.SSHKey, err = container.NormalizeSSHKey(key); err != nil {
			return req, fmt.Errorf("flag 'ssh-key' %s: %w", sshKeyPath, err)
		}
		req.IdentityFile = identityFile(sshKeyPath)
	}
	return req, nil
}

// hotkeyFlag checks a --hotkey value: empty, or an SS58 address.
func hotkeyFlag(hotkey string) error {
	if hotkey == "" {
		return nil
	}
	if _, _, err := wallet.SS58Decode(hotkey); err != nil {
		return usageError{fmt.Errorf("flag 'hotkey': %q is not an SS58 address (a miner's hotkey, e.g. from `compute metagraph` or `compute allocate list`)", hotkey)}
	}
	return nil
}

func readSSHKey(path string) (string, error) {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, rest)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("flag 'ssh-key': %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSSHKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("flag 'ssh-key': %w", err)
	}
	if len(b) > maxSSHKeyFile {
		return "", fmt.Errorf("flag 'ssh-key': %s is larger than %d bytes; give the public key file (.pub)", path, maxSSHKeyFile)
	}
	if strings.Contains(string(b), "PRIVATE KEY") {
		return "", fmt.Errorf("flag 'ssh-key': %s is a private key; give the public key file (.pub)", path)
	}
	return string(b), nil
}

// identityFile is the private key beside the --ssh-key public key file, as
// an absolute path, for the printed ssh command; "" when there is none.
func identityFile(pubPath string) string {
	if rest, ok := strings.CutPrefix(pubPath, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			pubPath = filepath.Join(home, rest)
		}
	}
	priv, ok := strings.CutSuffix(pubPath, ".pub")
	if !ok {
		return ""
	}
	if _, err := os.Stat(priv); err != nil {
		return ""
	}
	if abs, err := filepath.Abs(priv); err == nil {
		priv = abs
	}
	return priv
}

// printAllocation prints what the renter needs to log in.
func printAllocation(w io.Writer, a *renter.Allocation) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Allocated miner\t%s (uid %d, score %.3f)\n", a.Hotkey, a.UID, a.Score)
	fmt.Fprintf(tw, "Resources\t%s\n", a.Resources())
	fmt.Fprintf(tw, "Address\t%s\n", a.IP)
	fmt.Fprintf(tw, "Port\t%d\n", a.Port)
	fmt.Fprintf(tw, "Username\t%s\n", a.Username)
	if a.KeyOnly {
		fmt.Fprintf(tw, "Login\tSSH key only\n")
	} else {
		fmt.Fprintf(tw, "Password\t%s\n", a.Password)
	}
	days := "days"
	if a.Timeline == 1 {
		days = "day"
	}
	fmt.Fprintf(tw, "Expires\t%s (%d %s)\n", a.ExpiresAt.Local().Format(time.DateTime), a.Timeline, days)
	fmt.Fprintf(tw, "RSA key\t%s (for `compute allocate release`; not an SSH key)\n", a.KeyFile)
	fmt.Fprintf(tw, "SSH\t%s\n", a.SSHCommand())
	tw.Flush()
}

func newAllocateReleaseCommand(g *globalOptions, o *allocateOptions) *cobra.Command {
	var (
		hotkey string
		force  bool
	)
	cmd := &cobra.Command{
		Use:   "release",
		Short: "End a recorded allocation (deallocate the miner)",
		Long: `release ends the allocation of --hotkey recorded in the validator's store: it asks the miner
to deallocate with the allocation's public key, then forgets the record and deletes the key.
With --force the record is forgotten even when the miner cannot confirm (e.g. it expired).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if hotkey == "" {
				return usageError{errors.New("flag 'hotkey' is required: the miner's SS58 hotkey (see `compute allocate list`)")}
			}
			if err := hotkeyFlag(hotkey); err != nil {
				return err
			}
			// No record, nothing to release: say so before reaching for the chain.
			if err := o.recorded(cmd.Context(), hotkey); err != nil {
				return err
			}
			r, closeFn, err := o.open(cmd, g, renter.Config{})
			if err != nil {
				return err
			}
			defer closeFn()
			if err := r.Release(cmd.Context(), hotkey, renter.ReleaseOptions{Force: force}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "released %s\n", hotkey)
			return nil
		},
	}
	cmd.Flags().StringVar(&hotkey, "hotkey", "", "the allocated miner's SS58 hotkey")
	cmd.Flags().BoolVar(&force, "force", false, "forget the record even if the miner does not confirm")
	return cmd
}

func newAllocateListCommand(g *globalOptions, o *allocateOptions) *cobra.Command {
	var (
		asJSON bool
		all    bool
		maxAge uint64
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the allocations recorded in the validator's store (--all: every validator's, from the chain)",
		Long: `list prints the allocations recorded in this validator's store.

With --all it reads the chain instead: every permitted validator's shared-state record on the
subnet (docs/shared-state.md), and prints which validator holds which miner, the miners penalised
by more than half of the permitted stake, and the records ignored (malformed, stale, ...).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all {
				c, err := o.co.Open(cmd, g.QuietLogger(cmd.ErrOrStderr()))
				if err != nil {
					return err
				}
				mg, v, err := readShared(cmd.Context(), c, o.co.Netuid, maxAge)
				if err != nil {
					return err
				}
				return printSharedListing(cmd.OutOrStdout(), newSharedListing(mg, v), asJSON)
			}
			st, dir, err := o.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			recs, err := st.Allocations(cmd.Context())
			if err != nil {
				return err
			}
			list := renter.Records(recs)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			if len(list) == 0 {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "no allocations recorded in %s\n", filepath.Join(dir, store.ValidatorFile))
				if fs := cmd.Flags(); !fs.Changed("validator.data_dir") && !fs.Changed("wallet.name") {
					fmt.Fprintf(w, "(the store of wallet %q, hotkey %q, netuid %d; pass --wallet.name, --wallet.hotkey and --netuid, or --validator.data_dir, for another validator's)\n",
						o.wo.Name, o.wo.Hotkey, o.co.Netuid)
				}
				return nil
			}
			return printAllocations(cmd.OutOrStdout(), list, time.Now())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the allocations as JSON")
	cmd.Flags().BoolVar(&all, "all", false, "list every validator's leases from the shared-state records on chain")
	cmd.Flags().Uint64Var(&maxAge, "max-age", sharedstate.DefaultMergeConfig().MaxAge, "with --all: ignore records older than this many blocks")
	return cmd
}

func printAllocations(w io.Writer, list []renter.Allocation, now time.Time) error {
	if len(list) == 0 {
		fmt.Fprintln(w, "no allocations recorded")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOTKEY\tUID\tSSH\tRESOURCES\tLOGIN\tCREATED\tEXPIRES")
	for _, a := range list {
		login := "password"
		if a.KeyOnly {
			login = "key"
		}
		expires := "-"
		if !a.ExpiresAt.IsZero() {
			expires = a.ExpiresAt.Local().Format(time.DateTime)
			if !a.ExpiresAt.After(now) {
				expires += " (expired)"
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", a.Hotkey, a.UID, a.SSHCommand(),
			a.Resources(), login, a.CreatedAt.Local().Format(time.DateTime), expires)
	}
	return tw.Flush()
}
