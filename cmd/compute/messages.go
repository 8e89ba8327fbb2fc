package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// internalPrefixes are the package names internal errors start with
// ("container: invalid device requirement"); they mean nothing to an
// operator and are dropped from what the command prints.
var internalPrefixes = []string{
	"api", "axon", "benchmark", "chain", "connect", "container", "cuda", "devchain", "hashcat",
	"metadata", "miner", "nvml", "nvrtc", "pow", "release", "renter", "replay", "reveal", "rpc", "scale",
	"score", "specs", "store", "subtensor", "tlock", "update", "validator", "wallet", "wire",
}

// operatorMessage is the text an operator reads for err: the error's chain
// with a configuration field named by its flag and without the internal
// package prefixes, at its start or after any ": ".
func operatorMessage(err error) string {
	msg, _ := flagMessage(err, err.Error())
	for {
		before := msg
		for _, p := range internalPrefixes {
			msg = strings.TrimPrefix(msg, p+": ")
			msg = strings.ReplaceAll(msg, ": "+p+": ", ": ")
		}
		if msg == before {
			return msg
		}
	}
}

// report prints err for the operator on w ("compute: ...") and returns the
// process exit code; ctx is the signal context.
func report(w io.Writer, ctx context.Context, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(w, "compute:", operatorMessage(err))
	return exitCode(ctx, err)
}
