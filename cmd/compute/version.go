package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/version"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and its Bittensor integer form",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "compute %s (version_key %d)\n", version.String, version.Int)
		},
	}
}
