package main

import "github.com/spf13/cobra"

func newMinerCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("miner", "Run a miner")
}
