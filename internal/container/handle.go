package container

import (
	"context"
	"encoding/json"
)

// Request is the Allocate synapse as the miner receives it.
type Request struct {
	Timeline          int
	DeviceRequirement json.RawMessage
	Checking          bool
	PublicKey         string
	// SSHPublicKey is the renter's optional SSH key, or keys one a line
	// (key-only login when set).
	SSHPublicKey string
	// ValidatorHotkey is the verified SS58 address of the caller.
	ValidatorHotkey string
	// DockerChange makes the request a lease action (Action) of the holder of
	// PublicKey, whatever Checking says; Timeline is then the new lease length
	// for ActionExtend, and ActionSSHKeys (one a line) and ActionKeyType the
	// new keys for ActionExchangeKey.
	DockerChange  bool
	Action        string
	ActionSSHKeys string
	ActionKeyType string
}

// Response is the synapse's output: {"status": bool} plus "info" on allocation, and
// "action" (the action served) and "reason" (why it was refused) for a lease action.
// Err says why status is false; it is for logs and is not sent to the caller.
type Response struct {
	Status bool   `json:"status"`
	Info   string `json:"info,omitempty"`
	Action string `json:"action,omitempty"`
	Reason string `json:"reason,omitempty"`
	Err    error  `json:"-"`
}

// Output returns the response as the synapse's output dict.
func (r Response) Output() map[string]any {
	out := map[string]any{"status": r.Status}
	if r.Info != "" {
		out["info"] = r.Info
	}
	if r.Action != "" {
		out["action"] = r.Action
	}
	if r.Reason != "" {
		out["reason"] = r.Reason
	}
	return out
}

// Handle serves the four modes of the Allocate synapse:
// checking with timeline > 0 (could this machine take it), checking with timeline 0 (is
// it allocated to this key), allocate (timeline > 0) and deallocate (timeline 0), and
// the lease actions (DockerChange, see handleAction).
func (m *Manager) Handle(ctx context.Context, r Request) Response {
	switch {
	case r.DockerChange:
		return m.handleAction(ctx, r)
	case r.Checking && r.Timeline > 0:
		err := m.CanAllocate(ctx, r.Timeline, r.DeviceRequirement, r.PublicKey)
		return Response{Status: err == nil, Err: err}
	case r.Checking && r.Timeline == 0:
		ok := m.IsAllocatedTo(r.PublicKey)
		resp := Response{Status: ok}
		if !ok {
			resp.Err = ErrNotAllocated
		}
		return resp
	case r.Timeline > 0:
		res, err := m.Allocate(ctx, AllocateRequest{
			Timeline:          r.Timeline,
			DeviceRequirement: r.DeviceRequirement,
			PublicKey:         r.PublicKey,
			SSHPublicKey:      r.SSHPublicKey,
			ValidatorHotkey:   r.ValidatorHotkey,
		})
		if err != nil {
			return Response{Err: err}
		}
		return Response{Status: true, Info: res.Info}
	case r.Timeline == 0:
		err := m.Deallocate(ctx, r.PublicKey)
		return Response{Status: err == nil, Err: err}
	}
	_, err := m.validate(r.Timeline, r.DeviceRequirement, r.PublicKey, "", "")
	return Response{Err: err}
}
