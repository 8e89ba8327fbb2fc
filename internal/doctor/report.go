package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sn27/compute/internal/clip"
)

// maxCell bounds a detail or fix in the table (an error from a daemon can be long).
const maxCell = 400

// cell makes s fit one table cell: one line, no tabs, clipped.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return clip.String(s, maxCell)
}

// WriteTable writes the results as a table (CHECK, RESULT, DETAIL, FIX) and
// a summary line.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL\tFIX")
	counts := map[Status]int{}
	for _, r := range results {
		counts[r.Status]++
		fix := r.Fix
		if r.Status == Pass || r.Status == Skip {
			fix = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Check, r.Status, cell(r.Detail), cell(fix))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "all checks passed"
	switch {
	case counts[Fail] > 0:
		verdict = "FAILED: apply the fixes above and run the doctor again"
	case counts[Warn] > 0:
		verdict = "passed with warnings"
	}
	_, err := fmt.Fprintf(w, "\n%d checks: %d passed, %d warnings, %d failed, %d not applicable; %s\n",
		len(results), counts[Pass], counts[Warn], counts[Fail], counts[Skip], verdict)
	return err
}

// WriteJSON writes the results as a JSON array.
func WriteJSON(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}
