package main

import "github.com/spf13/cobra"

func newMetagraphCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("metagraph", "Show a subnet's metagraph")
}
