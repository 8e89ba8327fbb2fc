package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
)

// LevelTrace is below slog.LevelDebug, for --logging.trace.
const LevelTrace = slog.LevelDebug - 4

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	Debug bool
	Trace bool
	JSON  bool
}

func (g *globalOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&g.Debug, "logging.debug", false, "log at debug level")
	fs.BoolVar(&g.Trace, "logging.trace", false, "log at trace level (most verbose)")
	fs.BoolVar(&g.JSON, "logging.json", false, "write logs as JSON lines")
}

// Logger returns the process logger writing to w (stderr when nil).
func (g *globalOptions) Logger(w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	level := slog.LevelInfo
	if g.Debug {
		level = slog.LevelDebug
	}
	if g.Trace {
		level = LevelTrace
	}
	opts := &slog.HandlerOptions{Level: level}
	if g.JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
