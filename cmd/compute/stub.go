package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// stub is a placeholder for a subcommand whose package is not wired yet.
func stub(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("%s is not available in this build", use)
		},
	}
}
