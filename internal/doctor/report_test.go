package doctor

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
)

func TestWriteTable(t *testing.T) {
	results := []Result{
		{Check: "chain", Status: Pass, Detail: "block 7"},
		{Check: "docker", Status: Fail, Detail: "line one\nline\ttwo", Fix: "start it"},
		{Check: "gpu", Status: Skip, Detail: "no NVIDIA GPU", Fix: "ignored"},
		{Check: "open-files", Status: Warn, Detail: strings.Repeat("x", 1000), Fix: "raise it"},
	}
	var b bytes.Buffer
	if err := WriteTable(&b, results); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "CHECK RESULT DETAIL FIX" {
		t.Errorf("header %q", lines[0])
	}
	for i, want := range [][]string{
		{"chain", "PASS", "block", "7", "-"},
		{"docker", "FAIL", "line", "one", "line", "two", "start", "it"},
		{"gpu", "N/A", "no", "NVIDIA", "GPU", "-"},
	} {
		if got := strings.Fields(lines[i+1]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("row %d: %q, want %q", i+1, got, want)
		}
	}
	if len(lines[4]) > maxCell+100 || !strings.Contains(lines[4], "...") {
		t.Errorf("a long detail is not clipped: %d bytes", len(lines[4]))
	}
	if !strings.Contains(b.String(), "4 checks: 1 passed, 1 warnings, 1 failed, 1 not applicable; FAILED") {
		t.Errorf("summary:\n%s", b.String())
	}
	if !Failed(results) || Failed(results[:1]) {
		t.Error("Failed")
	}

	b.Reset()
	if err := WriteJSON(&b, results[1:2]); err != nil {
		t.Fatal(err)
	}
	var back []map[string]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back[0]["result"] != "FAIL" || back[0]["fix"] != "start it" {
		t.Fatalf("JSON %s: %v", b.String(), err)
	}
	var again []Result
	if err := json.Unmarshal(b.Bytes(), &again); err != nil || again[0] != results[1] {
		t.Fatalf("JSON read back: %+v, %v", again, err)
	}
	var s Status
	if err := s.UnmarshalText([]byte("MAYBE")); err == nil {
		t.Error("an unknown result was read")
	}
}

func TestNVIDIADevices(t *testing.T) {
	fsys := fstest.MapFS{
		"0000:00:02.0/vendor": {Data: []byte("0x8086\n")}, "0000:00:02.0/class": {Data: []byte("0x030000\n")},
		"0000:01:00.0/vendor": {Data: []byte("0x10de\n")}, "0000:01:00.0/class": {Data: []byte("0x030200\n")},
		"0000:01:00.1/vendor": {Data: []byte("0x10de\n")}, "0000:01:00.1/class": {Data: []byte("0x040300\n")}, // its audio function
		"0000:02:00.0/vendor": {Data: []byte("0x10de\n")}, "0000:02:00.0/class": {Data: []byte("0x030000\n")},
		"0000:03:00.0/vendor": {Data: []byte("0x10de\n")}, // no class: skipped
	}
	if n, err := nvidiaDevices(fsys); err != nil || n != 2 {
		t.Fatalf("%d, %v; want 2", n, err)
	}
	if n, err := nvidiaDevices(fstest.MapFS{}); err != nil || n != 0 {
		t.Fatalf("empty: %d, %v", n, err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"default":          "default",
		"/root/.bittensor": "/root/.bittensor",
		"my wallet":        "'my wallet'",
		"it's":             `'it'\''s'`,
		"":                 "''",
		"$HOME":            "'$HOME'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
