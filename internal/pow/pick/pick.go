package pick

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/cpu"
	"github.com/sn27/compute/internal/pow/cuda"
	"github.com/sn27/compute/internal/pow/hashcat"
)

// Names are the accepted solver names.
var Names = []string{"auto", "cpu", "cuda", "hashcat"}

// Options configures every solver New may build.
type Options struct {
	CPU     cpu.Options
	Hashcat hashcat.Options
	// Timeout bounds each Solve: 0 means pow.DefaultTimeout (30 s), < 0 none.
	Timeout time.Duration
}

// New returns the solver called name, wrapped with the timeout.
func New(ctx context.Context, name string, opts Options, log *slog.Logger) (pow.Solver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := build(ctx, name, opts, log)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = pow.DefaultTimeout
	}
	return pow.WithTimeout(s, timeout), nil
}

func build(ctx context.Context, name string, opts Options, log *slog.Logger) (pow.Solver, error) {
	switch name {
	case "cpu":
		return newCPU(opts, log, "requested")
	case "cuda":
		s, err := cuda.New(ctx, log)
		if err != nil {
			return nil, fmt.Errorf("solver cuda: %w", err)
		}
		log.Info("proof-of-work solver", "solver", "cuda", "reason", "requested")
		return s, nil
	case "hashcat":
		s, err := hashcat.New(ctx, opts.Hashcat, log)
		if err != nil {
			return nil, fmt.Errorf("solver hashcat: %w", err)
		}
		log.Info("proof-of-work solver", "solver", "hashcat", "reason", "requested", "version", s.Version(), "device_types", s.DeviceTypes())
		return s, nil
	case "auto", "":
		s, err := cuda.New(ctx, log)
		if err == nil {
			log.Info("proof-of-work solver", "solver", "cuda", "reason", "auto: CUDA available")
			return s, nil
		}
		return newCPU(opts, log, "auto: CUDA unavailable: "+err.Error())
	}
	return nil, fmt.Errorf("unknown solver %q (want one of %v)", name, Names)
}

func newCPU(opts Options, log *slog.Logger, reason string) (pow.Solver, error) {
	s, err := cpu.New(opts.CPU)
	if err != nil {
		return nil, fmt.Errorf("solver cpu: %w", err)
	}
	log.Info("proof-of-work solver", "solver", "cpu", "reason", reason, "kernel", s.Kernel(), "workers", s.Workers())
	return s, nil
}
