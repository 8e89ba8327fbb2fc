package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/version"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the protocol version, its Bittensor integer form and the binary's release",
		Long: `version prints two lines: the protocol version with its integer form (the weights
version_key and axon version), then the binary's own release version (a semantic version,
or "dev" for a build not made by scripts/release.sh) and its platform as the release feed
names it (docs/releases.md).`,
		Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "compute %s (version_key %d)\n%s\n",
				version.String, version.Int, version.ReleaseLine(version.Release(), version.Platform()))
		},
	}
}
