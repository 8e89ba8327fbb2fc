package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	in := `{"title": "ours vs hashcat", "y_label": "MH/s", "categories": ["1", "mean"],
		"series": [{"name": "ours", "values": [161.8, 164.8]}, {"name": "hashcat", "values": [67.2, 80.2]}]}`
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "ours vs hashcat", "hashcat", "80.2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "c.svg")
	if err := run(strings.NewReader(in), &out, path); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.HasPrefix(b, []byte("<svg")) {
		t.Fatalf("file: %v %.20q", err, b)
	}
	for _, bad := range []string{"", "[", `{"title": 1}`, `{"colour": "red"}`} {
		if err := run(strings.NewReader(bad), &out, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
