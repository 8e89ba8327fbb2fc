package main

import "github.com/spf13/cobra"

func newScoreCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("score", "Compute a miner score from its statistics")
}
