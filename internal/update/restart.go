package update

import (
	"fmt"
	"os"
	"syscall"
)

// RestartError is what Run returns after installing a release and draining
// the gate: the caller stops its role, then calls Restart. As an error it
// asks for exit status RestartExitCode, for a service manager to start the
// new binary.
type RestartError struct {
	From, To string // the releases before and after
	Path     string // the new binary
	// Exec: restart by re-executing Path in this process (Config.Restart
	// RestartExec); otherwise exit with RestartExitCode.
	Exec bool
}

func (e *RestartError) Error() string {
	return fmt.Sprintf("release %s installed (was %s); exiting with status %d for the service manager to start it",
		e.To, e.From, RestartExitCode)
}

// ExitCode is RestartExitCode.
func (e *RestartError) ExitCode() int { return RestartExitCode }

// Restart re-executes the new binary with this process's arguments and
// environment (same PID) when e.Exec; it returns only when it did not
// (e.Exec false, or execve failed: the error says why), and the caller then
// exits with RestartExitCode.
func (e *RestartError) Restart() error {
	if !e.Exec {
		return nil
	}
	if err := syscall.Exec(e.Path, os.Args, os.Environ()); err != nil {
		return fmt.Errorf("update: re-execute %s: %w", e.Path, err)
	}
	return nil // not reached
}
