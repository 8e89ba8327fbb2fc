package renter

import (
	"github.com/sn27/compute/internal/wire"
)

// DockerRequirement is the Allocate synapse's docker_requirement object as
// this renter fills it: only the renter's SSH public key. Miners that do not
// know the field ignore it.
type DockerRequirement struct {
	SSHKey string `json:"ssh_key,omitempty"`
}

// AllocateSynapse is wire.Allocate plus docker_requirement. It has the same
// route name ("Allocate") and, like wire.Allocate, hashes no fields, so any
// miner serving wire.Allocate accepts it.
type AllocateSynapse struct {
	wire.Allocate
	DockerRequirement *DockerRequirement `json:"docker_requirement,omitempty"`
}

// SSHKey returns the renter's SSH key carried by the synapse ("" if none).
func (a *AllocateSynapse) SSHKey() string {
	if a.DockerRequirement == nil {
		return ""
	}
	return a.DockerRequirement.SSHKey
}

// clone returns a deep copy: the dendrite copies a synapse shallowly and
// decodes the answer into the copy, so requests in flight must not share the
// requirement's bytes or the docker_requirement object.
func (a *AllocateSynapse) clone() *AllocateSynapse {
	c := *a
	c.DeviceRequirement = append(wire.JSONObject(nil), a.DeviceRequirement...)
	if a.DockerRequirement != nil {
		d := *a.DockerRequirement
		c.DockerRequirement = &d
	}
	return &c
}

var _ wire.Synapse = (*AllocateSynapse)(nil)
