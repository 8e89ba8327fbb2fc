package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/renter"
)

// leaseActionsHelp ends the help of every lease action.
const leaseActionsHelp = `
The request is signed with the allocation's RSA key (as release is), and only the miner that
holds this lease acts on it. A miner that does not know lease actions (an older version, or the
original subnet's miner) changes nothing, and the command says so.`

// hotkeyRecorded checks the --hotkey of a lease action and that the store records it,
// before any chain is reached.
func hotkeyRecorded(cmd *cobra.Command, o *allocateOptions, hotkey string) error {
	if hotkey == "" {
		return usageError{errors.New("flag 'hotkey' is required: the miner's SS58 hotkey (see `compute allocate list`)")}
	}
	if err := hotkeyFlag(hotkey); err != nil {
		return err
	}
	return o.recorded(cmd.Context(), hotkey)
}

// withRenter opens the renter for a lease action on hotkey and runs f with it.
func withRenter(cmd *cobra.Command, g *globalOptions, o *allocateOptions, hotkey string, timeout time.Duration, f func(*renter.Renter) error) error {
	if err := hotkeyRecorded(cmd, o, hotkey); err != nil {
		return err
	}
	r, closeFn, err := o.open(cmd, g, renter.Config{AllocateTimeout: timeout})
	if err != nil {
		return err
	}
	defer closeFn()
	return f(r)
}

func newAllocateRestartCommand(g *globalOptions, o *allocateOptions) *cobra.Command {
	var (
		hotkey  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "restart",
		Short: "Restart the container of a recorded allocation",
		Long: `restart asks the miner of --hotkey to restart the lease's container, as docker restart does:
its processes end and start again, while the lease, its files, disk and network stay. It returns
once the container's SSH server answers again.
` + leaseActionsHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRenter(cmd, g, o, hotkey, timeout, func(r *renter.Renter) error {
				if err := r.Restart(cmd.Context(), hotkey); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "restarted the lease on %s; SSH answers again\n", hotkey)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&hotkey, "hotkey", "", "the allocated miner's SS58 hotkey")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "time limit of the miner's answer")
	return cmd
}

func newAllocateExtendCommand(g *globalOptions, o *allocateOptions) *cobra.Command {
	var (
		hotkey  string
		days    int
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "extend",
		Short: "Extend a recorded allocation by some days",
		Long: fmt.Sprintf(`extend adds --days to the lease of --hotkey: the miner moves its end (and says so in the
lease's /etc/lease), and the record follows. A lease lasts at most %d days from its start.
`, renter.MaxTimeline) + leaseActionsHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("days") {
				return usageError{errors.New("flag 'days' is required: how many days to add")}
			}
			return withRenter(cmd, g, o, hotkey, timeout, func(r *renter.Renter) error {
				a, err := r.Extend(cmd.Context(), hotkey, days)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "extended the lease on %s by %d %s: it ends %s (%d %s from its start)\n",
					hotkey, days, plural(days, "day"), a.ExpiresAt.Local().Format(time.DateTime), a.Timeline, plural(a.Timeline, "day"))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&hotkey, "hotkey", "", "the allocated miner's SS58 hotkey")
	cmd.Flags().IntVar(&days, "days", 0, "days to add to the lease")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "time limit of the miner's answer")
	return cmd
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// newAllocateKeysCommand is `compute allocate keys`: list, set, add and remove the
// renter's SSH keys of a recorded allocation.
func newAllocateKeysCommand(g *globalOptions, o *allocateOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List or change the SSH keys of a recorded allocation",
		Long: `keys lists the SSH keys recorded for the lease of --hotkey, or changes them on the miner:

  compute allocate keys list   --hotkey 5F...
  compute allocate keys set    --hotkey 5F... --ssh-key a.pub --ssh-key b.pub   (exactly these keys)
  compute allocate keys add    --hotkey 5F... --ssh-key c.pub
  compute allocate keys remove --hotkey 5F... --fingerprint SHA256:...          (or --ssh-key a.pub)

The keys replace root's authorized_keys in the lease's container at once; a login already open
stays. A lease allocated with an SSH key allows key login only and keeps at least one key; a
password lease keeps its password whatever its keys. A --ssh-key file may hold several keys, one a
line.
` + leaseActionsHelp,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newKeysListCommand(o), newKeysChangeCommand(g, o, "set"), newKeysChangeCommand(g, o, "add"), newKeysChangeCommand(g, o, "remove"))
	return cmd
}

func newKeysListCommand(o *allocateOptions) *cobra.Command {
	var hotkey string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the SSH keys recorded for an allocation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := hotkeyRecorded(cmd, o, hotkey); err != nil {
				return err
			}
			st, _, err := o.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			recs, err := st.Allocations(cmd.Context())
			if err != nil {
				return err
			}
			for _, a := range renter.Records(recs) {
				if a.Hotkey == hotkey {
					return printKeys(cmd.OutOrStdout(), &a)
				}
			}
			return fmt.Errorf("%w: %s", renter.ErrNotRecorded, hotkey)
		},
	}
	cmd.Flags().StringVar(&hotkey, "hotkey", "", "the allocated miner's SS58 hotkey")
	return cmd
}

// newKeysChangeCommand is `keys set`, `keys add` or `keys remove`.
func newKeysChangeCommand(g *globalOptions, o *allocateOptions, verb string) *cobra.Command {
	var (
		hotkey       string
		files        []string
		fingerprints []string
		timeout      time.Duration
	)
	short := map[string]string{
		"set":    "Replace the SSH keys of an allocation with the --ssh-key files' keys",
		"add":    "Add the --ssh-key files' keys to an allocation's SSH keys",
		"remove": "Remove SSH keys (by --fingerprint or --ssh-key file) from an allocation",
	}[verb]
	cmd := &cobra.Command{
		Use:   verb,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			given, err := keyFiles(files)
			if err != nil {
				return usageError{err}
			}
			if len(given) == 0 && (verb != "remove" || len(fingerprints) == 0) {
				what := "--ssh-key"
				if verb == "remove" {
					what = "--fingerprint or --ssh-key"
				}
				return usageError{fmt.Errorf("give the keys with %s", what)}
			}
			return withRenter(cmd, g, o, hotkey, timeout, func(r *renter.Renter) error {
				a, err := r.Lookup(cmd.Context(), hotkey)
				if err != nil {
					return err
				}
				keys := given
				if verb != "set" {
					if a.KeyOnly && len(a.SSHKeys) == 0 {
						return fmt.Errorf("the keys of the lease on %s are not recorded (it was allocated before keys were); give every key with `compute allocate keys set`", hotkey)
					}
					if keys, err = changedKeys(verb, a.SSHKeys, given, fingerprints); err != nil {
						return usageError{err}
					}
				}
				if err := r.SetSSHKeys(cmd.Context(), hotkey, keys); err != nil {
					return err
				}
				if a, err = r.Lookup(cmd.Context(), hotkey); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "the lease on %s now takes these SSH keys:\n", hotkey)
				return printKeys(cmd.OutOrStdout(), a)
			})
		},
	}
	cmd.Flags().StringVar(&hotkey, "hotkey", "", "the allocated miner's SS58 hotkey")
	cmd.Flags().StringArrayVar(&files, "ssh-key", nil, "SSH public key file (e.g. ~/.ssh/id_ed25519.pub); repeat for several")
	if verb == "remove" {
		cmd.Flags().StringArrayVar(&fingerprints, "fingerprint", nil, "fingerprint of a key to remove, as `compute allocate keys list` or ssh-keygen -l prints it (SHA256:...); repeat for several")
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "time limit of the miner's answer")
	return cmd
}

// keyFiles reads the keys of --ssh-key files, several a file, one a line.
func keyFiles(files []string) ([]string, error) {
	var keys []string
	for _, f := range files {
		text, err := readSSHKey(f)
		if err != nil {
			return nil, err
		}
		ks, err := container.NormalizeSSHKeys(text)
		if err != nil {
			return nil, fmt.Errorf("flag 'ssh-key' %s: %w", f, err)
		}
		if len(ks) == 0 {
			return nil, fmt.Errorf("flag 'ssh-key': %s holds no SSH key", f)
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}

// changedKeys is the recorded keys with given added (add), or with given and the
// keys of fingerprints removed (remove); a key to remove that is not there is an error.
func changedKeys(verb string, recorded, given, fingerprints []string) ([]string, error) {
	if verb == "add" {
		return append(slices.Clone(recorded), given...), nil
	}
	for _, k := range given {
		fp, err := renter.SSHKeyFingerprint(k)
		if err != nil {
			return nil, err
		}
		fingerprints = append(fingerprints, fp)
	}
	matched := map[string]bool{}
	var out []string
	for _, k := range recorded {
		if fp, err := renter.SSHKeyFingerprint(k); err == nil && slices.Contains(fingerprints, fp) {
			matched[fp] = true
			continue
		}
		out = append(out, k)
	}
	for _, fp := range fingerprints {
		if !matched[fp] {
			return nil, fmt.Errorf("%s is none of the lease's keys (see `compute allocate keys list`)", fp)
		}
	}
	return out, nil
}

// printKeys prints an allocation's recorded SSH keys with their fingerprints.
func printKeys(w io.Writer, a *renter.Allocation) error {
	if len(a.SSHKeys) == 0 {
		switch {
		case a.KeyOnly:
			fmt.Fprintln(w, "the keys of this key-only lease are not recorded (it was allocated before keys were)")
		default:
			fmt.Fprintln(w, "no SSH keys: password login")
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tKEY")
	for _, k := range a.SSHKeys {
		fp, err := renter.SSHKeyFingerprint(k)
		if err != nil {
			fp = "?"
		}
		typ, body, _ := strings.Cut(k, " ")
		if len(body) > 24 {
			body = body[:12] + "..." + body[len(body)-8:]
		}
		fmt.Fprintf(tw, "%s\t%s %s\n", fp, typ, body)
	}
	return tw.Flush()
}
