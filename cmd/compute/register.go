package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/wallet"
)

// devKeyOptions let development commands sign with secret URIs (//Alice)
// instead of wallet files.
type devKeyOptions struct{ ColdkeyURI, HotkeyURI string }

func (o *devKeyOptions) addColdkey(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.ColdkeyURI, "coldkey-uri", "", "development secret URI (e.g. //Bob) to use instead of the wallet's coldkey")
}

func (o *devKeyOptions) addHotkey(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.HotkeyURI, "hotkey-uri", "", "development secret URI (e.g. //Bob//miner) to use instead of the wallet's hotkey")
}

// coldkey returns the signing coldkey: the URI when given, else the wallet's.
func (o *devKeyOptions) coldkey(cmd *cobra.Command, wo *walletOptions) (*wallet.Keypair, error) {
	if o.ColdkeyURI != "" {
		return wallet.FromURI(o.ColdkeyURI)
	}
	return wo.Open().Coldkey(promptFunc(cmd))
}

// hotkeyAddress returns the hotkey's SS58 address: the URI's when given, else the wallet's.
func (o *devKeyOptions) hotkeyAddress(wo *walletOptions) (string, error) {
	if o.HotkeyURI != "" {
		kp, err := wallet.FromURI(o.HotkeyURI)
		if err != nil {
			return "", err
		}
		return kp.SS58Address(), nil
	}
	kp, err := wo.Open().HotkeyPub()
	if err != nil {
		return "", err
	}
	return kp.SS58Address(), nil
}

func newRegisterCommand(g *globalOptions) *cobra.Command {
	var (
		co   chainOptions
		wo   walletOptions
		keys devKeyOptions
	)
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register a hotkey on a subnet",
		Long: `register burns the subnet's registration cost from the wallet's coldkey and registers the
wallet's hotkey on --netuid (burned_register). It prints the uid.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			hotkey, err := keys.hotkeyAddress(&wo)
			if err != nil {
				return fmt.Errorf("hotkey: %w", err)
			}
			c, err := co.Open(cmd, g.QuietLogger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			if ok, err := c.IsRegistered(ctx, co.Netuid, hotkey); err != nil {
				return err
			} else if ok {
				n, err := c.NeuronByHotkey(ctx, co.Netuid, hotkey)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "hotkey %s is already registered on netuid %d as uid %d\n", hotkey, co.Netuid, n.UID)
				return nil
			}
			cold, err := keys.coldkey(cmd, &wo)
			if err != nil {
				return fmt.Errorf("coldkey: %w", err)
			}
			uid, err := c.Register(ctx, co.Netuid, cold, hotkey)
			if err != nil {
				return fmt.Errorf("register %s on netuid %d: %w", hotkey, co.Netuid, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered hotkey %s on netuid %d as uid %d\n", hotkey, co.Netuid, uid)
			return nil
		},
	}
	co.AddFlags(cmd.Flags())
	wo.AddFlags(cmd.Flags())
	keys.addColdkey(cmd)
	keys.addHotkey(cmd)
	return cmd
}

var _ chain.Signer = (*wallet.Keypair)(nil)
