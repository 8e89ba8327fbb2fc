package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/api"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/wallet"
)

// hint is the command line or flag that helps with err, for the errors the
// packages return typed but without one (they do not know the command
// line); "" when there is none.
func hint(err error) string {
	var (
		held       *renter.HeldError
		unreleased *renter.ReleaseError
		unreg      *miner.NotRegisteredError
	)
	switch {
	case errors.As(err, &held):
		return fmt.Sprintf("`compute allocate list` shows its login, `compute allocate release --hotkey %s` ends it", held.Hotkey)
	case errors.Is(err, renter.ErrAllHeld):
		return "`compute allocate list` shows their logins, `compute allocate release --hotkey HOTKEY` ends a lease"
	case errors.As(err, &unreleased):
		return "use --force to forget the local record anyway"
	case errors.As(err, &unreg):
		return fmt.Sprintf("register it first with `compute register --netuid %d --wallet.name <wallet> --wallet.hotkey <hotkey>` (it burns the registration cost from the coldkey)", unreg.Netuid)
	case errors.Is(err, api.ErrPlainOffLoopback):
		return "give --api.tls.cert and --api.tls.key, or serve plain HTTP on a loopback --api.addr such as 127.0.0.1:8080"
	case errors.Is(err, wallet.ErrKeyExists):
		return "pass --overwrite to replace it"
	case errors.Is(err, wallet.ErrKeyfileNotFound):
		return "check --wallet.path, --wallet.name and --wallet.hotkey"
	}
	return ""
}

// hintedError is an error followed by its hint.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + "; " + e.hint }

func (e *hintedError) Unwrap() error { return e.err }

// withHint appends err's hint, once, to its message.
func withHint(err error) error {
	var h *hintedError
	if err == nil || errors.As(err, &h) {
		return err
	}
	if s := hint(err); s != "" {
		return &hintedError{err: err, hint: s}
	}
	return err
}

// hintErrors makes every command below c return its errors with their
// hints (withHint).
func hintErrors(c *cobra.Command) {
	for _, sub := range c.Commands() {
		hintErrors(sub)
	}
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error { return withHint(run(cmd, args)) }
	}
}
