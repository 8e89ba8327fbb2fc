package replay

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

//go:embed testdata/*.gz
var files embed.FS

// Recording is scenario -> RPC method -> JSON-encoded params -> response object ({"result": ...}).
type Recording map[string]map[string]map[string]json.RawMessage

// fixtureCache memoises the decompressed fixtures; they are immutable once loaded.
type fixtureCache struct {
	once sync.Once
	rec  Recording
	v14  []byte
	v15  []byte
	err  error
}

func (c *fixtureCache) load() {
	c.once.Do(func() {
		raw, err := gunzip("testdata/finney_recorded.json.gz")
		if err != nil {
			c.err = err
			return
		}
		if err := json.Unmarshal(raw, &c.rec); err != nil {
			c.err = fmt.Errorf("replay: parse recording: %w", err)
			return
		}
		if c.v14, err = gunzip("testdata/metadata_v14_spec343.scale.gz"); err != nil {
			c.err = err
			return
		}
		c.v15, c.err = gunzip("testdata/metadata_v15_spec343.scale.gz")
	})
}

// cache is written once behind sync.Once and only read afterwards.
var cache fixtureCache

func gunzip(name string) ([]byte, error) {
	f, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	r, err := gzip.NewReader(bytes.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("replay: %s: %w", name, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("replay: %s: %w", name, err)
	}
	return out, nil
}

// Recorded returns the recorded finney scenarios.
func Recorded() (Recording, error) {
	cache.load()
	return cache.rec, cache.err
}

// MetadataV14 returns the recorded spec-343 metadata V14 ("meta" magic first).
func MetadataV14() ([]byte, error) {
	cache.load()
	return cache.v14, cache.err
}

// MetadataV15Opaque returns the recorded result of state_call Metadata_metadata_at_version(15):
// an Option<Vec<u8>> wrapping the spec-343 metadata V15.
func MetadataV15Opaque() ([]byte, error) {
	cache.load()
	return cache.v15, cache.err
}
