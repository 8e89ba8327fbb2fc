package wire

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/sn27/compute/internal/clip"
)

// Header names and prefixes of the Bittensor wire format. They are written in
// lowercase on the wire.
const (
	HeaderName             = "name"
	HeaderTimeout          = "timeout"
	HeaderHeaderSize       = "header_size"
	HeaderTotalSize        = "total_size"
	HeaderComputedBodyHash = "computed_body_hash"
	PrefixAxon             = "bt_header_axon_"
	PrefixDendrite         = "bt_header_dendrite_"
	PrefixInputObj         = "bt_header_input_obj_"
)

// ErrBadHeaders is wrapped by every header parsing error.
var ErrBadHeaders = errors.New("wire: malformed synapse headers")

// HeaderInfo is the synapse as rebuilt from request or response headers
// (Bittensor's from_headers).
type HeaderInfo struct {
	Name             string
	Timeout          float64 // DefaultTimeout when the header is absent
	HeaderSize       int64
	TotalSize        int64
	ComputedBodyHash string
	Axon             TerminalInfo
	Dendrite         TerminalInfo
	// Inputs holds decoded bt_header_input_obj_* values by field name.
	// Values that fail to decode are skipped, as Bittensor does.
	Inputs map[string]json.RawMessage
}

// ParseHeaders rebuilds the header form of a synapse. Header names are matched
// case-insensitively (Go canonicalizes them; Python sends lowercase). Unknown
// headers and unknown terminal fields are ignored.
func ParseHeaders(h http.Header) (*HeaderInfo, error) {
	info := &HeaderInfo{Timeout: DefaultTimeout}
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		key := strings.ToLower(k)
		v := vs[0]
		var err error
		switch {
		case strings.HasPrefix(key, PrefixAxon):
			err = setTerminalField(&info.Axon, key[len(PrefixAxon):], v)
		case strings.HasPrefix(key, PrefixDendrite):
			err = setTerminalField(&info.Dendrite, key[len(PrefixDendrite):], v)
		case strings.HasPrefix(key, PrefixInputObj):
			field := key[len(PrefixInputObj):]
			raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
			if derr != nil || !json.Valid(raw) {
				continue
			}
			if info.Inputs == nil {
				info.Inputs = map[string]json.RawMessage{}
			}
			info.Inputs[field] = raw
		case key == HeaderName:
			info.Name = v
		case key == HeaderTimeout:
			f, perr := strconv.ParseFloat(strings.TrimSpace(v), 64)
			switch {
			case perr != nil:
				err = fmt.Errorf("timeout %q is not a number", clip.String(v, 32))
			case math.IsNaN(f) || math.IsInf(f, 0) || f < 0:
				err = fmt.Errorf("timeout %q is out of range", clip.String(v, 32))
			default:
				info.Timeout = f
			}
		case key == HeaderHeaderSize:
			info.HeaderSize, err = parseInt(key, v)
		case key == HeaderTotalSize:
			info.TotalSize, err = parseInt(key, v)
		case key == HeaderComputedBodyHash:
			info.ComputedBodyHash = v
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadHeaders, err)
		}
	}
	return info, nil
}

func parseInt(name, v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not an integer", name, clip.String(v, 32))
	}
	return n, nil
}

func setTerminalField(t *TerminalInfo, field, v string) error {
	switch field {
	case "status_code", "port":
		n, err := parseInt(field, v)
		if err != nil {
			return err
		}
		if n > math.MaxInt32 || n < math.MinInt32 {
			return fmt.Errorf("%s %d is out of range", field, n)
		}
		i := int(n)
		if field == "port" {
			t.Port = &i
		} else {
			t.StatusCode = &i
		}
	case "version", "nonce":
		n, err := parseInt(field, v)
		if err != nil {
			return err
		}
		if field == "nonce" {
			t.Nonce = &n
		} else {
			t.Version = &n
		}
	case "process_time":
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return fmt.Errorf("process_time %q is not a number", clip.String(v, 32))
		}
		t.ProcessTime = &f
	case "status_message":
		t.StatusMessage = ptr(v)
	case "ip":
		t.IP = ptr(v)
	case "uuid":
		t.UUID = ptr(v)
	case "hotkey":
		t.Hotkey = ptr(v)
	case "signature":
		t.Signature = ptr(v)
	}
	return nil
}

// setHeader assigns a header without canonicalizing its name, so it goes out
// in lowercase exactly as Python peers expect. Control characters in v (a
// route name from the URL can carry any byte) become spaces, so the header
// stays well-formed.
func setHeader(h http.Header, k, v string) { h[k] = []string{headerValue(v)} }

// headerValue replaces the bytes HTTP forbids in a header value (controls
// other than tab, and DEL) with spaces.
func headerValue(v string) string {
	bad := func(c byte) bool { return (c < ' ' && c != '\t') || c == 0x7f }
	for i := 0; i < len(v); i++ {
		if bad(v[i]) {
			b := []byte(v)
			for j := i; j < len(b); j++ {
				if bad(b[j]) {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return v
}

// WriteHeaders writes the header form of a synapse (Bittensor's to_headers)
// into h with lowercase names: name, timeout, one bt_header_axon_* and
// bt_header_dendrite_* per non-nil terminal field, header_size, total_size
// and computed_body_hash.
func WriteHeaders(h http.Header, b *SynapseBase, bodyHash string) {
	setHeader(h, HeaderName, b.Name)
	setHeader(h, HeaderTimeout, PyFloat(b.Timeout))
	n := writeTerminal(h, PrefixAxon, &b.Axon)
	n += writeTerminal(h, PrefixDendrite, &b.Dendrite)
	// header_size is informational (Python reports sys.getsizeof of the dict);
	// report the byte size of what is sent.
	n += len(b.Name) + len(HeaderName) + len(HeaderTimeout) + 8 + len(bodyHash) + len(HeaderComputedBodyHash)
	setHeader(h, HeaderHeaderSize, strconv.Itoa(n))
	setHeader(h, HeaderTotalSize, strconv.FormatInt(b.TotalSize, 10))
	setHeader(h, HeaderComputedBodyHash, bodyHash)
}

func writeTerminal(h http.Header, prefix string, t *TerminalInfo) int {
	n := 0
	put := func(field, v string) {
		k := prefix + field
		setHeader(h, k, v)
		n += len(k) + len(v)
	}
	if t.StatusCode != nil {
		put("status_code", strconv.Itoa(*t.StatusCode))
	}
	if t.StatusMessage != nil {
		put("status_message", *t.StatusMessage)
	}
	if t.ProcessTime != nil {
		put("process_time", PyFloat(*t.ProcessTime))
	}
	if t.IP != nil {
		put("ip", *t.IP)
	}
	if t.Port != nil {
		put("port", strconv.Itoa(*t.Port))
	}
	if t.Version != nil {
		put("version", strconv.FormatInt(*t.Version, 10))
	}
	if t.Nonce != nil {
		put("nonce", strconv.FormatInt(*t.Nonce, 10))
	}
	if t.UUID != nil {
		put("uuid", *t.UUID)
	}
	if t.Hotkey != nil {
		put("hotkey", *t.Hotkey)
	}
	if t.Signature != nil {
		put("signature", *t.Signature)
	}
	return n
}

// mergeTerminal copies every non-nil field of src over dst (the dendrite's
// header merge step).
func mergeTerminal(dst *TerminalInfo, src *TerminalInfo) {
	if src.StatusCode != nil {
		dst.StatusCode = src.StatusCode
	}
	if src.StatusMessage != nil {
		dst.StatusMessage = src.StatusMessage
	}
	if src.ProcessTime != nil {
		dst.ProcessTime = src.ProcessTime
	}
	if src.IP != nil {
		dst.IP = src.IP
	}
	if src.Port != nil {
		dst.Port = src.Port
	}
	if src.Version != nil {
		dst.Version = src.Version
	}
	if src.Nonce != nil {
		dst.Nonce = src.Nonce
	}
	if src.UUID != nil {
		dst.UUID = src.UUID
	}
	if src.Hotkey != nil {
		dst.Hotkey = src.Hotkey
	}
	if src.Signature != nil {
		dst.Signature = src.Signature
	}
}
