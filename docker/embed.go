// Package docker holds the build context of the compute lease image (Dockerfile, entry
// point, sshd settings), embedded so the compute binary can build the image anywhere.
package docker

import "embed"

// Context is the Docker build context of the lease image.
//
//go:embed Dockerfile compute-entry.sh sshd-compute.conf
var Context embed.FS
