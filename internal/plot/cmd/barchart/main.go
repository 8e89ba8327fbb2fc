// Command barchart renders a grouped bar chart from JSON (plot.BarChart's
// field names) to SVG, for scripts under bench/:
//
//	go run ./internal/plot/cmd/barchart -o out.svg < chart.json
//
// Input: {"title": "...", "y_label": "...", "categories": ["1", "2"],
// "series": [{"name": "ours", "values": [161.8, 166.5]}]}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sn27/compute/internal/plot"
)

func main() {
	out := flag.String("o", "", "SVG file to write (default: stdout)")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *out); err != nil {
		fmt.Fprintln(os.Stderr, "barchart:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, stdout io.Writer, out string) error {
	dec := json.NewDecoder(io.LimitReader(in, 1<<20))
	dec.DisallowUnknownFields()
	var ch plot.BarChart
	if err := dec.Decode(&ch); err != nil {
		return fmt.Errorf("reading the chart JSON: %w", err)
	}
	if out == "" {
		return plot.WriteSVG(stdout, &ch)
	}
	return plot.WriteFile(out, &ch)
}
