//go:build !unix

package hashcat

import "os/exec"

func setProcessGroup(*exec.Cmd) {}
