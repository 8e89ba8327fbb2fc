package main

import "github.com/spf13/cobra"

func newAllocateCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("allocate", "Rent a miner's machine as a container reachable by SSH")
}
