package main

import "github.com/spf13/cobra"

func newChallengeCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("challenge", "Create and solve proof-of-work challenges")
}
