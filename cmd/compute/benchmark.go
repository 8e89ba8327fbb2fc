package main

import "github.com/spf13/cobra"

func newBenchmarkCommand(g *globalOptions) *cobra.Command {
	_ = g
	return stub("benchmark", "Benchmark the proof-of-work solvers")
}
