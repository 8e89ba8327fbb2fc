package validator

import (
	"context"
	"encoding/json"
	"time"

	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/store"
)

// HistoryReader is what the validator loop reads from its history.
type HistoryReader interface {
	// Stats returns the score figures of every known miner, keyed by hotkey.
	Stats(ctx context.Context, now time.Time) (map[string]score.Stats, error)
	// Allocated returns the hotkeys allocated by this validator at now.
	Allocated(ctx context.Context, now time.Time) (map[string]bool, error)
}

// ResultWriter is what the validator loop writes to its history.
type ResultWriter interface {
	// RecordRound writes a whole challenge round atomically.
	RecordRound(ctx context.Context, r store.Round) (int64, error)
	// PurgeReplaced forgets miners whose uid now belongs to another hotkey.
	PurgeReplaced(ctx context.Context, current map[uint16]string) ([]string, error)
	// Prune applies the retention policy.
	Prune(ctx context.Context, now time.Time) (int64, error)
}

// SpecsStore keeps the specs miners report.
type SpecsStore interface {
	SaveSpecs(ctx context.Context, hotkey string, details json.RawMessage, at time.Time) error
	MissedSpecs(ctx context.Context, hotkey string, at time.Time) (int, error)
}

// WeightsLog records what the validator sent as weights and whether the
// chain revealed its commits, so that a restart neither repeats an interval
// nor forgets a commit.
type WeightsLog interface {
	RecordWeights(ctx context.Context, r store.WeightsRecord) (int64, error)
	MarkWeights(ctx context.Context, id int64, status string, revealedBlock uint64) error
	LastWeights(ctx context.Context, netuid uint16, hotkey string) (*store.WeightsRecord, error)
	PendingWeights(ctx context.Context, netuid uint16, hotkey string) ([]store.WeightsRecord, error)
}

var (
	_ WeightsLog    = (*store.Validator)(nil)
	_ HistoryReader = (*store.Validator)(nil)
	_ ResultWriter  = (*store.Validator)(nil)
	_ SpecsStore    = (*store.Validator)(nil)
)
