package main

import (
	"bytes"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "compute 1.4.2 (version_key 142)\n"; got != want {
		t.Fatalf("compute version printed %q, want %q", got, want)
	}
}
