package validator

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sn27/compute/internal/store"
)

// shortKey abbreviates an SS58 address for tables.
func shortKey(k string) string {
	if len(k) <= 12 {
		return k
	}
	return k[:6] + "…" + k[len(k)-4:]
}

// writeRoundTable writes the per-round summary: one line per miner.
func (v *Validator) writeRoundTable(rep RoundReport) {
	if v.tables == nil {
		for _, o := range rep.Outcomes {
			v.log.Info("round result", "block", rep.Block, "uid", o.UID, "hotkey", o.Hotkey, "difficulty", o.Difficulty,
				"result", o.Result, "elapsed", o.Elapsed.Round(time.Millisecond), "detail", o.Detail)
		}
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "challenge round at block %d: %d miners, %d solved, %v\n", rep.Block, len(rep.Outcomes),
		rep.Successes(), rep.Duration.Round(time.Millisecond))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UID\tHOTKEY\tDIFFICULTY\tRESULT\tTIME\tDETAIL")
	for _, o := range rep.Outcomes {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%.3fs\t%s\n", o.UID, shortKey(o.Hotkey), o.Difficulty, o.Result,
			o.Elapsed.Seconds(), o.Detail)
	}
	tw.Flush()
	_, _ = v.tables.Write([]byte(b.String()))
}

// writeWeightsTable writes the weights just sent: uid, hotkey, score,
// weight; a commit's heading names its reveal round and expected reveal block.
func (v *Validator) writeWeightsTable(sent Sent, rows []WeightRow) {
	block := sent.Block
	if v.tables == nil {
		for _, r := range rows {
			v.log.Info("weight", "block", block, "uid", r.UID, "hotkey", r.Hotkey, "score", r.Score.Total,
				"normalized", r.Score.Normalized, "weight", r.Weight, "note", r.Note())
		}
		return
	}
	var b strings.Builder
	if sent.Mode == store.WeightsModeCommit {
		fmt.Fprintf(&b, "weights committed at block %d: reveal round %d, expected reveal at block %d\n",
			block, sent.RevealRound, sent.RevealBlock)
	} else {
		fmt.Fprintf(&b, "weights set at block %d\n", block)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UID\tHOTKEY\tSCORE\tNORMALIZED\tWEIGHT\tNOTE")
	for _, r := range rows {
		note := r.Note()
		fmt.Fprintf(tw, "%d\t%s\t%.2f\t%.4f\t%.4f\t%s\n", r.UID, shortKey(r.Hotkey), r.Score.Total, r.Score.Normalized, r.Weight, note)
	}
	tw.Flush()
	_, _ = v.tables.Write([]byte(b.String()))
}
