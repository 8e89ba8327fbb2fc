package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/chain"
)

func newMetagraphCommand(g *globalOptions) *cobra.Command {
	var (
		co     chainOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "metagraph",
		Short: "Show a subnet's metagraph",
		Long: `metagraph prints every neuron of a subnet like btcli: uid, hotkey, coldkey, stake (TAO),
trust, consensus, incentive, dividends, emission (TAO per epoch), validator permit and axon.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := co.Open(cmd, g.QuietLogger(cmd.ErrOrStderr()))
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
			return printMetagraph(cmd.OutOrStdout(), mg)
		},
	}
	co.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the metagraph as JSON")
	return cmd
}

func printMetagraph(w io.Writer, mg *chain.Metagraph) error {
	fmt.Fprintf(w, "Metagraph: netuid %d, block %d, %d neurons\n", mg.Netuid, mg.Block, len(mg.Neurons))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UID\tHOTKEY\tCOLDKEY\tSTAKE(τ)\tTRUST\tCONSENSUS\tINCENTIVE\tDIVIDENDS\tEMISSION(τ)\tVPERMIT\tAXON")
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
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.4f\t%.5f\t%.5f\t%.5f\t%.5f\t%.6f\t%s\t%s\n",
			n.UID, n.Hotkey, n.Coldkey, n.Stake, n.Trust, n.Consensus, n.Incentive, n.Dividends, n.Emission, permit, axon)
		stake += n.Stake
		emission += n.Emission
	}
	fmt.Fprintf(tw, "TOTAL\t%d neurons\t\t%.4f\t\t\t\t\t%.6f\t\t\n", len(mg.Neurons), stake, emission)
	return tw.Flush()
}
