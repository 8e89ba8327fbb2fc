package main

import "github.com/spf13/cobra"

func newDevnetCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("devnet", "Run a whole local network: dev chain, validator and miners")
}
