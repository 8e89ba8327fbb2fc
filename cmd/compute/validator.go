package main

import "github.com/spf13/cobra"

func newValidatorCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("validator", "Run a validator")
}
