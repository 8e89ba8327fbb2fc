package main

import "github.com/spf13/cobra"

func newWalletCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("wallet", "Create, restore and inspect Bittensor wallets")
}
