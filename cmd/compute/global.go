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
	Debug   bool
	Trace   bool
	JSON    bool
	Verbose bool
}

func (g *globalOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&g.Debug, "logging.debug", false, "log at debug level")
	fs.BoolVar(&g.Trace, "logging.trace", false, "log at trace level (most verbose)")
	fs.BoolVar(&g.JSON, "logging.json", false, "write logs as JSON lines")
	fs.BoolVarP(&g.Verbose, "verbose", "v", false, "one-shot commands (allocate, register, metagraph, weights, challenge, benchmark): also log progress at info level on stderr (by default they log warnings and errors only)")
}

// Logger returns the process logger writing to w (stderr when nil), at info
// level unless --logging.debug or --logging.trace: for the long-running
// roles (miner, validator, localnet, devnet), whose logs are their output.
func (g *globalOptions) Logger(w io.Writer) *slog.Logger {
	return g.logger(w, slog.LevelInfo)
}

// QuietLogger is the logger of one-shot commands, whose output is a result
// (a table, a line, JSON): warnings and errors only, info with -v, debug and
// trace with --logging.debug and --logging.trace.
func (g *globalOptions) QuietLogger(w io.Writer) *slog.Logger {
	level := slog.LevelWarn
	if g.Verbose {
		level = slog.LevelInfo
	}
	return g.logger(w, level)
}

func (g *globalOptions) logger(w io.Writer, level slog.Level) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
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
