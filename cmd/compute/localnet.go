package main

import "github.com/spf13/cobra"

func newLocalnetCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("localnet", "Run the embedded development chain")
}
