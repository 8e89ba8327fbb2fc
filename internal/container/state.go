package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// SchemaVersion is the version of the persisted lease state and of the container labels.
const SchemaVersion = 1

// StateFileName is the lease state file inside the miner's data directory.
const StateFileName = "leases.json"

// Lease is one allocation of this machine, as persisted and reported.
type Lease struct {
	ID string `json:"id"`
	// RequesterFingerprint identifies the requester's RSA key (hex SHA-256 of its DER);
	// RequesterPublicKey is that key in canonical PEM.
	RequesterFingerprint string      `json:"requester_fingerprint"`
	RequesterPublicKey   string      `json:"requester_public_key"`
	ValidatorHotkey      string      `json:"validator_hotkey,omitempty"`
	Requirement          Requirement `json:"requirement"`
	Start                time.Time   `json:"start"`
	Expiry               time.Time   `json:"expiry"`
	ContainerID          string      `json:"container_id"`
	ContainerName        string      `json:"container_name"`
	Port                 int         `json:"port"`
	KeyOnly              bool        `json:"key_only"`
	Warnings             []string    `json:"warnings,omitempty"`
	// Network is the lease's own Docker network and Bridge its host interface;
	// Firewalled says the miner's rules keep the lease off the host's services.
	Network    string `json:"network,omitempty"`
	Bridge     string `json:"bridge,omitempty"`
	Firewalled bool   `json:"firewalled,omitempty"`
	// DiskVolume is the directory of the lease's sized volume (image and mount point),
	// empty when the disk is not enforced that way; DiskEnforced says whether the disk
	// asked for is enforced at all (by the volume or the storage driver).
	DiskVolume   string `json:"disk_volume,omitempty"`
	DiskEnforced bool   `json:"disk_enforced,omitempty"`
}

type stateFile struct {
	Schema int    `json:"schema"`
	Lease  *Lease `json:"lease"`
}

// loadState reads the state file; a missing file is no lease.
func loadState(path string) (*Lease, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lease state: %w", err)
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, fmt.Errorf("lease state %s is corrupt (move it aside to start without a lease): %w", path, err)
	}
	if sf.Schema != SchemaVersion {
		return nil, fmt.Errorf("lease state %s has schema %d, this miner reads %d", path, sf.Schema, SchemaVersion)
	}
	if sf.Lease != nil && (sf.Lease.ID == "" || sf.Lease.RequesterFingerprint == "") {
		return nil, fmt.Errorf("lease state %s is corrupt: lease without id or requester", path)
	}
	return sf.Lease, nil
}

// saveState writes the state file atomically: a private temp file in the same
// directory, fsync, rename over the target, fsync of the directory.
func saveState(path string, l *Lease) error {
	data, err := json.MarshalIndent(stateFile{Schema: SchemaVersion, Lease: l}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lease state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".leases-*.tmp")
	if err != nil {
		return fmt.Errorf("write lease state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write lease state: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write lease state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write lease state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write lease state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write lease state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
