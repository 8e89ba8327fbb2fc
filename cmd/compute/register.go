package main

import "github.com/spf13/cobra"

func newRegisterCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("register", "Register a hotkey on a subnet")
}
