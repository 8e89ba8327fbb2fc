package validator

import (
	"context"
	"errors"
	"fmt"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/store"
)

// WeightsStatus is what a chain says of a hotkey's weights: how the subnet
// takes them, the commits waiting for their reveal and the row it holds;
// Log and LogPath are the validator's own record, when its store is at hand.
type WeightsStatus struct {
	Netuid  uint16                   `json:"netuid"`
	Hotkey  string                   `json:"hotkey"`
	UID     *uint16                  `json:"uid"`
	Info    *chain.WeightsInfo       `json:"info"`
	Pending []chain.TimelockedCommit `json:"pending_commits"`
	UIDs    []uint16                 `json:"uids"`
	Values  []uint16                 `json:"values"`
	Log     []store.WeightsRecord    `json:"log,omitempty"`
	LogPath string                   `json:"log_path,omitempty"`
}

// ReadWeightsStatus reads hotkey's weights status on netuid from the chain.
func ReadWeightsStatus(ctx context.Context, c chain.Chain, netuid uint16, hotkey string) (*WeightsStatus, error) {
	info, err := c.WeightsInfo(ctx, netuid, hotkey)
	if err != nil {
		return nil, fmt.Errorf("read the weights settings of netuid %d: %w", netuid, err)
	}
	st := &WeightsStatus{Netuid: netuid, Hotkey: hotkey, Info: info}
	n, err := c.NeuronByHotkey(ctx, netuid, hotkey)
	switch {
	case errors.Is(err, chain.ErrNotRegistered):
		return st, nil
	case err != nil:
		return nil, fmt.Errorf("look up %s on netuid %d: %w", hotkey, netuid, err)
	}
	uid := n.UID
	st.UID = &uid
	if st.Pending, err = c.TimelockedCommits(ctx, netuid, hotkey); err != nil {
		return nil, fmt.Errorf("read the pending commits of %s: %w", hotkey, err)
	}
	if st.UIDs, st.Values, err = c.Weights(ctx, netuid, uid); err != nil {
		return nil, fmt.Errorf("read the weights of uid %d: %w", uid, err)
	}
	return st, nil
}
