package main

import (
	"bytes"
	"testing"

	"github.com/sn27/compute/internal/version"
)

func TestVersionCommand(t *testing.T) {
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	want := "compute 1.4.2 (version_key 142)\nrelease dev (platform " + version.Platform() + ")\n"
	if got := out.String(); got != want {
		t.Fatalf("compute version printed %q, want %q", got, want)
	}
}
