package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/sharedstate"
	"github.com/sn27/compute/internal/store"
)

func newMetagraphCommand(g *globalOptions) *cobra.Command {
	var (
		co      chainOptions
		asJSON  bool
		shared  bool
		dataDir string
	)
	cmd := &cobra.Command{
		Use:   "metagraph",
		Short: "Show a subnet's metagraph",
		Long: `metagraph prints every neuron of a subnet like btcli: uid, hotkey, coldkey, stake (TAO),
trust, consensus, incentive, dividends, emission (TAO per epoch), validator permit and axon.

ALLOCATED lists the uids of the validators whose shared-state record on chain leases the miner
(docs/shared-state.md; --shared=false skips reading the records). With --validator.data_dir,
VERIFIED shows that validator's canary verdict on the miner's specs: yes, no (reason code),
pending, or - when never checked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.QuietLogger(cmd.ErrOrStderr())
			c, err := co.Open(cmd, log)
			if err != nil {
				return err
			}
			mg, err := c.Metagraph(ctx, co.Netuid)
			if err != nil {
				return fmt.Errorf("read metagraph of netuid %d: %w", co.Netuid, err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(mg)
			}
			var ex metagraphExtras
			if shared {
				v, err := sharedstate.Read(ctx, c, mg, sharedstate.DefaultMergeConfig())
				if err != nil {
					log.Warn("the validators' shared records could not be read; no ALLOCATED column", "err", err)
				} else {
					ex.allocated = allocatedBy(mg, v)
				}
			}
			if dataDir != "" {
				if ex.verified, err = readVerdicts(ctx, dataDir); err != nil {
					return err
				}
			}
			return printMetagraphWith(cmd.OutOrStdout(), mg, ex)
		},
	}
	co.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the metagraph as JSON")
	cmd.Flags().BoolVar(&shared, "shared", true, "read the validators' shared-state records for the ALLOCATED column")
	cmd.Flags().StringVar(&dataDir, "validator.data_dir", "", "a validator's data directory: adds the VERIFIED column from its store")
	return cmd
}

// metagraphExtras are the optional columns: nil maps leave them out.
type metagraphExtras struct {
	allocated map[uint16][]uint16           // miner uid -> uids of the validators leasing it
	verified  map[string]store.CanaryStatus // hotkey -> the validator's verdict
}

// allocatedBy maps each leased uid to the uids of the validators whose
// records lease it.
func allocatedBy(mg *chain.Metagraph, v sharedstate.View) map[uint16][]uint16 {
	out := map[uint16][]uint16{}
	for uid, hks := range v.Allocated {
		for _, hk := range hks {
			if n := mg.ByHotkey(hk); n != nil {
				out[uid] = append(out[uid], n.UID)
			}
		}
		slices.Sort(out[uid])
	}
	return out
}

// readVerdicts opens the validator store in dir (which must exist) and
// reads its canary verdicts.
func readVerdicts(ctx context.Context, dir string) (map[string]store.CanaryStatus, error) {
	path := filepath.Join(dir, store.ValidatorFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("flag 'validator.data_dir': no validator store: %w", err)
	}
	st, err := store.OpenValidator(ctx, path, store.DefaultValidatorConfig())
	if err != nil {
		return nil, fmt.Errorf("open the validator store %s: %w", path, err)
	}
	defer st.Close()
	v, err := st.CanaryStatuses(ctx)
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = map[string]store.CanaryStatus{}
	}
	return v, nil
}

func printMetagraph(w io.Writer, mg *chain.Metagraph) error {
	return printMetagraphWith(w, mg, metagraphExtras{})
}

func printMetagraphWith(w io.Writer, mg *chain.Metagraph, ex metagraphExtras) error {
	fmt.Fprintf(w, "Metagraph: netuid %d, block %d, %d neurons\n", mg.Netuid, mg.Block, len(mg.Neurons))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "UID\tHOTKEY\tCOLDKEY\tSTAKE(τ)\tTRUST\tCONSENSUS\tINCENTIVE\tDIVIDENDS\tEMISSION(τ)\tVPERMIT\tAXON"
	if ex.allocated != nil {
		head += "\tALLOCATED"
	}
	if ex.verified != nil {
		head += "\tVERIFIED"
	}
	fmt.Fprintln(tw, head)
	var stake, emission float64
	for _, n := range mg.Neurons {
		axon := "-"
		if n.Axon.IP != "" && n.Axon.IP != "0.0.0.0" {
			axon = fmt.Sprintf("%s:%d", n.Axon.IP, n.Axon.Port)
			if n.Axon.IPType == 6 {
				axon = fmt.Sprintf("[%s]:%d", n.Axon.IP, n.Axon.Port)
			}
		}
		permit := ""
		if n.ValidatorPermit {
			permit = "*"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.4f\t%.5f\t%.5f\t%.5f\t%.5f\t%.6f\t%s\t%s",
			n.UID, n.Hotkey, n.Coldkey, n.Stake, n.Trust, n.Consensus, n.Incentive, n.Dividends, n.Emission, permit, axon)
		if ex.allocated != nil {
			fmt.Fprintf(tw, "\t%s", allocatedCell(ex.allocated[n.UID]))
		}
		if ex.verified != nil {
			fmt.Fprintf(tw, "\t%s", verifiedCell(ex.verified, n.Hotkey))
		}
		fmt.Fprintln(tw)
		stake += n.Stake
		emission += n.Emission
	}
	fmt.Fprintf(tw, "TOTAL\t%d neurons\t\t%.4f\t\t\t\t\t%.6f\t\t\n", len(mg.Neurons), stake, emission)
	return tw.Flush()
}

// allocatedCell is "by 0,3" for a miner leased by validators 0 and 3, "-" otherwise.
func allocatedCell(vals []uint16) string {
	if len(vals) == 0 {
		return "-"
	}
	parts := make([]string, len(vals))
	for i, u := range vals {
		parts[i] = strconv.Itoa(int(u))
	}
	return "by " + strings.Join(parts, ",")
}

// verifiedCell is the verdict: yes, no (reason), pending, or - when never checked.
func verifiedCell(v map[string]store.CanaryStatus, hotkey string) string {
	st, ok := v[hotkey]
	switch {
	case !ok:
		return "-"
	case st.State == store.CanaryVerified:
		return "yes"
	case st.State == store.CanaryFailed:
		return "no (" + st.Reason + ")"
	}
	return st.State
}
