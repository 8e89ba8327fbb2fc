package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"golang.org/x/crypto/sha3"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pyjson"
)

// EmptyBodyHash is sha3_256("") in hex: the body hash of a synapse that
// hashes no fields, as every request of the original subnet's peers does.
const EmptyBodyHash = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"

// DefaultTimeout is Bittensor's default synapse timeout in seconds.
const DefaultTimeout = 12.0

// Synapse is implemented by every message type the axon serves and the
// dendrite sends. Concrete synapses embed SynapseBase, which provides Base().
type Synapse interface {
	// SynapseName is the route name: the Python class name ("Specs").
	SynapseName() string
	// Base returns the embedded common fields.
	Base() *SynapseBase
}

// HashedSynapse is implemented by synapses whose class itself fixes the
// hashed fields (bittensor >= 7.2's required_hash_fields class variable).
// HashedFields returns the values of those fields in declaration order.
// Specs, Challenge and Allocate do not implement it: a request chooses what
// it covers (see BodyHash).
type HashedSynapse interface {
	Synapse
	HashedFields() []any
}

// hashField is one field of a synapse that a body hash can cover: its JSON
// name and Python's str() of its value as the receiver holds it.
type hashField struct {
	name string
	str  func() (string, error)
}

// hashable is implemented by synapses whose fields a request can cover with
// required_hash_fields; hashFields lists them in the declaration order of
// the original subnet's Python classes, which is the order they are hashed in.
type hashable interface {
	hashFields() []hashField
}

// coverer is implemented by synapses this dendrite sends with a body hash:
// coveredFields names what the hash covers.
type coverer interface {
	coveredFields() []string
	// plainRetry reports whether the request may be sent again without a
	// body hash to an axon that refused the hashed one (see Call).
	plainRetry() bool
}

// sender is implemented by synapses that forget what a decoded request
// carried before they are sent again.
type sender interface{ prepareSend() }

// CoveredFields returns the fields this package's Dendrite covers with the
// signed body hash of s (nil for synapses it sends unhashed): every request
// field of Challenge, and Allocate's timeline, device_requirement, checking,
// public_key and, when present, docker_requirement, and docker_change and
// docker_action when either is present.
func CoveredFields(s Synapse) []string {
	if c, ok := s.(coverer); ok {
		return c.coveredFields()
	}
	return nil
}

func strField(name string, v *string) hashField {
	return hashField{name, func() (string, error) { return *v, nil }}
}

func intField(name string, v int64) hashField {
	return hashField{name, func() (string, error) { return strconv.FormatInt(v, 10), nil }}
}

func boolField(name string, v bool) hashField {
	return hashField{name, func() (string, error) { return PyStr(v) }}
}

func dictField(name string, raw []byte) hashField {
	return hashField{name, func() (string, error) { return PyJSON(raw) }}
}

// defaulter lets a synapse set the field defaults Python would give it before
// a body is decoded into it.
type defaulter interface{ setDefaults() }

// TerminalInfo describes one end of a call (Bittensor's TerminalInfo). Every
// field is optional; nil is Python's None and is sent as JSON null.
type TerminalInfo struct {
	StatusCode    *int     `json:"status_code"`
	StatusMessage *string  `json:"status_message"`
	ProcessTime   *float64 `json:"process_time"`
	IP            *string  `json:"ip"`
	Port          *int     `json:"port"`
	Version       *int64   `json:"version"`
	Nonce         *int64   `json:"nonce"`
	UUID          *string  `json:"uuid"`
	Hotkey        *string  `json:"hotkey"`
	Signature     *string  `json:"signature"`
}

// UnmarshalJSON decodes a TerminalInfo leniently, as pydantic does: numeric
// fields also accept numeric strings, and a JSON null leaves the field nil.
func (t *TerminalInfo) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*t = TerminalInfo{}
		return nil
	}
	var raw struct {
		StatusCode    lenient `json:"status_code"`
		StatusMessage lenient `json:"status_message"`
		ProcessTime   lenient `json:"process_time"`
		IP            lenient `json:"ip"`
		Port          lenient `json:"port"`
		Version       lenient `json:"version"`
		Nonce         lenient `json:"nonce"`
		UUID          lenient `json:"uuid"`
		Hotkey        lenient `json:"hotkey"`
		Signature     lenient `json:"signature"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var out TerminalInfo
	var err error
	if out.StatusCode, err = raw.StatusCode.int("status_code"); err != nil {
		return err
	}
	if out.Port, err = raw.Port.int("port"); err != nil {
		return err
	}
	if out.Version, err = raw.Version.int64("version"); err != nil {
		return err
	}
	if out.Nonce, err = raw.Nonce.int64("nonce"); err != nil {
		return err
	}
	if out.ProcessTime, err = raw.ProcessTime.float("process_time"); err != nil {
		return err
	}
	for _, f := range []struct {
		dst  **string
		src  lenient
		name string
	}{
		{&out.StatusMessage, raw.StatusMessage, "status_message"},
		{&out.IP, raw.IP, "ip"},
		{&out.UUID, raw.UUID, "uuid"},
		{&out.Hotkey, raw.Hotkey, "hotkey"},
		{&out.Signature, raw.Signature, "signature"},
	} {
		if *f.dst, err = f.src.str(f.name); err != nil {
			return err
		}
	}
	*t = out
	return nil
}

// lenient holds one raw JSON value of a TerminalInfo field.
type lenient []byte

func (l *lenient) UnmarshalJSON(b []byte) error { *l = append((*l)[:0], b...); return nil }

func (l lenient) null() bool { return len(l) == 0 || string(l) == "null" }

func (l lenient) text() string {
	if len(l) > 0 && l[0] == '"' {
		var s string
		if json.Unmarshal(l, &s) == nil {
			return s
		}
	}
	return string(l)
}

func (l lenient) int64(name string) (*int64, error) {
	if l.null() {
		return nil, nil
	}
	v, err := strconv.ParseInt(l.text(), 10, 64)
	if err != nil {
		// Accept integral floats such as 200.0, as pydantic does.
		f, ferr := strconv.ParseFloat(l.text(), 64)
		switch {
		case ferr != nil && !errors.Is(ferr, strconv.ErrRange):
			return nil, fmt.Errorf("wire: field %s: %q is not an integer", name, clip.String(l.text(), 32))
		case f != math.Trunc(f):
			return nil, fmt.Errorf("wire: field %s: %s is not a whole number", name, clip.String(l.text(), 32))
		case ferr != nil || f >= 1<<63 || f < -(1<<63):
			return nil, fmt.Errorf("wire: field %s: %s is out of range", name, clip.String(l.text(), 32))
		}
		v = int64(f)
	}
	return &v, nil
}

func (l lenient) int(name string) (*int, error) {
	v, err := l.int64(name)
	if v == nil || err != nil {
		return nil, err
	}
	if *v > 1<<31-1 || *v < -(1<<31) {
		return nil, fmt.Errorf("wire: field %s: %d is out of range", name, *v)
	}
	i := int(*v)
	return &i, nil
}

func (l lenient) float(name string) (*float64, error) {
	if l.null() {
		return nil, nil
	}
	v, err := strconv.ParseFloat(l.text(), 64)
	if err != nil {
		return nil, fmt.Errorf("wire: field %s: %q is not a number", name, clip.String(l.text(), 32))
	}
	return &v, nil
}

func (l lenient) str(name string) (*string, error) {
	if l.null() {
		return nil, nil
	}
	if l[0] != '"' {
		return nil, fmt.Errorf("wire: field %s is not a string", name)
	}
	var s string
	if err := json.Unmarshal(l, &s); err != nil {
		return nil, fmt.Errorf("wire: field %s: %w", name, err)
	}
	return &s, nil
}

// decodeSynapse decodes a request or response body into p. The synapse
// types decode themselves (leniently, see Specs.UnmarshalJSON); calling them
// directly spares encoding/json's extra pass over a large body.
func decodeSynapse(body []byte, p Synapse) error {
	if u, ok := p.(json.Unmarshaler); ok {
		return u.UnmarshalJSON(body)
	}
	return json.Unmarshal(body, p)
}

// StringList is a JSON list of strings that encodes nil as [] (never null).
type StringList []string

// MarshalJSON encodes nil as an empty list.
func (s StringList) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]string(s))
}

// JSONObject is a raw JSON object. Empty encodes as {} (never null), and
// decoding accepts only an object or null.
type JSONObject json.RawMessage

// MarshalJSON writes the object, or {} when empty.
func (o JSONObject) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return []byte("{}"), nil
	}
	return json.RawMessage(o).MarshalJSON()
}

// UnmarshalJSON keeps a fresh copy of an object (never reusing the old bytes,
// which a shallow copy of the synapse may still share); null becomes empty.
func (o *JSONObject) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	if bytes.Equal(t, []byte("null")) {
		*o = nil
		return nil
	}
	if len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("wire: expected a JSON object")
	}
	*o = append(JSONObject(nil), t...)
	return nil
}

// SynapseBase holds the fields every Bittensor synapse carries, with the JSON names
// of the Python model. Embed it first in a synapse struct.
type SynapseBase struct {
	Name               string       `json:"name"`
	Timeout            float64      `json:"timeout"`
	TotalSize          int64        `json:"total_size"`
	HeaderSize         int64        `json:"header_size"`
	Dendrite           TerminalInfo `json:"dendrite"`
	Axon               TerminalInfo `json:"axon"`
	ComputedBodyHash   string       `json:"computed_body_hash"`
	RequiredHashFields StringList   `json:"required_hash_fields"`
}

// Base returns b itself; embedding types inherit it.
func (b *SynapseBase) Base() *SynapseBase { return b }

// Ping is Bittensor's base Synapse, served by every axon as a ping route.
type Ping struct {
	SynapseBase
}

// SynapseName is "Synapse".
func (*Ping) SynapseName() string { return "Synapse" }

// UnmarshalJSON decodes leniently (see Specs.UnmarshalJSON).
func (p *Ping) UnmarshalJSON(b []byte) error {
	type plain Ping
	return pyjson.Unmarshal(b, (*plain)(p))
}

// Specs asks a miner for its machine specification. specs_input is never
// executed by this implementation's miner.
type Specs struct {
	SynapseBase
	SpecsInput  string `json:"specs_input"`
	SpecsOutput string `json:"specs_output"`
}

// SynapseName is "Specs".
func (*Specs) SynapseName() string { return "Specs" }

// UnmarshalJSON decodes a Specs body as pydantic would: a whole-number float
// fills an integer field (total_size: 3014.0), a fraction or an out-of-range
// value is refused naming the field.
func (s *Specs) UnmarshalJSON(b []byte) error {
	type plain Specs
	return pyjson.Unmarshal(b, (*plain)(s))
}

func (s *Specs) hashFields() []hashField {
	return []hashField{strField("specs_input", &s.SpecsInput), strField("specs_output", &s.SpecsOutput)}
}

// DefaultChallengeDifficulty is the Challenge synapse's default difficulty.
const DefaultChallengeDifficulty = 7

// ChallengeOutput is what a miner answers to a Challenge.
type ChallengeOutput struct {
	Password           *string `json:"password"`
	LocalExecutionTime float64 `json:"local_execution_time"`
	Error              *string `json:"error"`
}

// Challenge carries a proof-of-work challenge (the fields of pow.Challenge)
// and the miner's answer in Output.
type Challenge struct {
	SynapseBase
	pow.Challenge
	Output ChallengeOutput `json:"output"`
}

// SynapseName is "Challenge".
func (*Challenge) SynapseName() string { return "Challenge" }

func (c *Challenge) setDefaults() { c.Difficulty = DefaultChallengeDifficulty }

// UnmarshalJSON decodes leniently (see Specs.UnmarshalJSON):
// challenge_difficulty 7.0 is 7.
func (c *Challenge) UnmarshalJSON(b []byte) error {
	type plain Challenge
	return pyjson.Unmarshal(b, (*plain)(c))
}

var challengeFields = []string{"challenge_hash", "challenge_salt", "challenge_mode", "challenge_chars", "challenge_mask", "challenge_difficulty"}

func (c *Challenge) hashFields() []hashField {
	return []hashField{
		strField("challenge_hash", &c.Hash), strField("challenge_salt", &c.Salt), strField("challenge_mode", &c.Mode),
		strField("challenge_chars", &c.Chars), strField("challenge_mask", &c.Mask),
		intField("challenge_difficulty", int64(c.Difficulty)),
	}
}

func (c *Challenge) coveredFields() []string { return append([]string(nil), challengeFields...) }

// plainRetry is true: a challenge carries no secret, and a rewritten one only
// makes the miner fail it, as dropping the request would.
func (c *Challenge) plainRetry() bool { return true }

// NewChallenge returns a Challenge synapse carrying c.
func NewChallenge(c pow.Challenge) *Challenge { return &Challenge{Challenge: c} }

// AllocateOutput is what a miner answers to an Allocate. Info is the
// base64 RSA-OAEP-encrypted credentials of a real allocation. Action and
// Reason answer a lease action (docker_change): a miner that performed or
// refused the action names it in Action, and Reason says why it refused;
// a miner that does not know lease actions leaves both out.
type AllocateOutput struct {
	Status bool   `json:"status"`
	Info   string `json:"info,omitempty"`
	Action string `json:"action,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// DeviceRequirement is the typed form of Allocate.device_requirement. Unknown
// keys are ignored when decoding.
type DeviceRequirement struct {
	CPU struct {
		Count int `json:"count"`
	} `json:"cpu"`
	GPU struct {
		Count    int    `json:"count"`
		Capacity int64  `json:"capacity"` // MB
		Type     string `json:"type"`
	} `json:"gpu"`
	HardDisk struct {
		Capacity int64 `json:"capacity"` // bytes
	} `json:"hard_disk"`
	RAM struct {
		Capacity int64 `json:"capacity"` // bytes
	} `json:"ram"`
}

// Allocate asks a miner to check, allocate or deallocate its machine.
type Allocate struct {
	SynapseBase
	Timeline          int64          `json:"timeline"` // days; 0 = deallocate
	DeviceRequirement JSONObject     `json:"device_requirement"`
	Checking          bool           `json:"checking"`
	PublicKey         string         `json:"public_key"`
	Output            AllocateOutput `json:"output"`
	// DockerRequirement is the optional docker_requirement object of later
	// versions of the original subnet; only its ssh_key is read. Miners that do
	// not know the field ignore it, and it is omitted when empty.
	DockerRequirement *DockerRequirement `json:"docker_requirement,omitempty"`
	// DockerChange and DockerAction are the docker_change and docker_action
	// fields of later versions of the original subnet: with DockerChange
	// set, the request is a lease action (DockerAction) on the lease that
	// PublicKey allocated, not an allocation. Both are omitted when unset, so
	// that other requests keep the bodies older miners know.
	DockerChange bool          `json:"docker_change,omitempty"`
	DockerAction *DockerAction `json:"docker_action,omitempty"`

	// dockerSent and actionSent are docker_requirement and docker_action as
	// a decoded body carried them, which is what the sender's body hash covers.
	dockerSent []byte
	actionSent []byte
}

// Lease actions (DockerAction.Action) this implementation serves. The
// original subnet's later Python miners also know "pause" and "unpause".
const (
	// ActionRestart restarts the lease container.
	ActionRestart = "restart"
	// ActionExchangeKey replaces the renter's SSH keys with SSHKey, one key a line.
	ActionExchangeKey = "exchange_key"
	// ActionExtend moves the lease's end: Allocate.Timeline is then the new
	// length of the whole lease in days, counted from its start.
	ActionExtend = "extend"
)

// DockerAction is the docker_action object: the action, and for
// exchange_key the new SSH keys (one a line). KeyType is the original's
// "user" or "terminal" key slot; this implementation's miners accept only
// "" and "user", and replace every renter key. Every key is always sent,
// as the original's default {"action": "", "ssh_key": "", "key_type": ""}.
type DockerAction struct {
	Action  string `json:"action"`
	SSHKey  string `json:"ssh_key"`
	KeyType string `json:"key_type"`
}

// pyDefaultDockerAction is str() of the original class's docker_action
// default, hashed when a request names docker_action but does not carry it.
const pyDefaultDockerAction = "{'action': '', 'ssh_key': '', 'key_type': ''}"

// DockerRequirement carries the renter's wishes for the container; today only
// the SSH public key that makes the lease key-only.
type DockerRequirement struct {
	SSHKey string `json:"ssh_key,omitempty"`
}

// SynapseName is "Allocate".
func (*Allocate) SynapseName() string { return "Allocate" }

// UnmarshalJSON decodes leniently (see Specs.UnmarshalJSON): timeline 30.0
// is 30. device_requirement, docker_requirement and docker_action are kept
// as they were sent, so that a body hash covers what the sender hashed.
func (a *Allocate) UnmarshalJSON(b []byte) error {
	type plain Allocate
	if err := pyjson.Unmarshal(b, (*plain)(a)); err != nil {
		return err
	}
	var sent struct {
		DeviceRequirement JSONObject      `json:"device_requirement"`
		DockerRequirement json.RawMessage `json:"docker_requirement"`
		DockerAction      json.RawMessage `json:"docker_action"`
	}
	if err := json.Unmarshal(b, &sent); err != nil {
		return err
	}
	if sent.DeviceRequirement != nil {
		a.DeviceRequirement = sent.DeviceRequirement
	}
	a.dockerSent = asSent(sent.DockerRequirement)
	a.actionSent = asSent(sent.DockerAction)
	return nil
}

// asSent is a field's raw JSON as a body carried it; nil when absent or null.
func asSent(raw json.RawMessage) []byte {
	if d := bytes.TrimSpace(raw); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		return append([]byte(nil), d...)
	}
	return nil
}

// dictStr is str() of a dict field: the bytes a decoded body carried, else
// the value this side holds, else def (the class default).
func dictStr(sent []byte, v any, isNil bool, def string) (string, error) {
	switch {
	case sent != nil:
		return PyJSON(sent)
	case !isNil:
		raw, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		return PyJSON(raw)
	}
	return def, nil
}

func (a *Allocate) hashFields() []hashField {
	docker := func() (string, error) {
		return dictStr(a.dockerSent, a.DockerRequirement, a.DockerRequirement == nil, "{}")
	}
	action := func() (string, error) {
		return dictStr(a.actionSent, a.DockerAction, a.DockerAction == nil, pyDefaultDockerAction)
	}
	return []hashField{
		intField("timeline", a.Timeline),
		dictField("device_requirement", a.DeviceRequirement),
		boolField("checking", a.Checking),
		strField("public_key", &a.PublicKey),
		{"docker_requirement", docker},
		boolField("docker_change", a.DockerChange),
		{"docker_action", action},
	}
}

func (a *Allocate) coveredFields() []string {
	f := []string{"timeline", "device_requirement", "checking", "public_key"}
	if a.DockerRequirement != nil {
		f = append(f, "docker_requirement")
	}
	if a.DockerChange || a.DockerAction != nil {
		f = append(f, "docker_change", "docker_action")
	}
	return f
}

// plainRetry is false for a real allocation, whose public_key and ssh_key
// receive the lease's credentials, and for a lease action, whose ssh_key
// and timeline a rewrite on the way would change; checking and
// deallocation requests may be sent again unhashed.
func (a *Allocate) plainRetry() bool {
	return !a.DockerChange && (a.Checking || a.Timeline <= 0)
}

func (a *Allocate) prepareSend() { a.dockerSent, a.actionSent = nil, nil }

// SSHKey returns the renter's SSH public key carried by the synapse ("" if none).
func (a *Allocate) SSHKey() string {
	if a.DockerRequirement == nil {
		return ""
	}
	return a.DockerRequirement.SSHKey
}

// LeaseAction returns the lease action the synapse asks for, and whether it
// asks for one (docker_change set). A request with docker_change set and no
// docker_action asks for the empty action.
func (a *Allocate) LeaseAction() (DockerAction, bool) {
	if !a.DockerChange {
		return DockerAction{}, false
	}
	if a.DockerAction == nil {
		return DockerAction{}, true
	}
	return *a.DockerAction, true
}

// Clone returns a deep copy, for requests sent to several axons at once.
func (a *Allocate) Clone() *Allocate {
	c := *a
	c.dockerSent, c.actionSent = nil, nil
	c.DeviceRequirement = append(JSONObject(nil), a.DeviceRequirement...)
	if a.DockerRequirement != nil {
		d := *a.DockerRequirement
		c.DockerRequirement = &d
	}
	if a.DockerAction != nil {
		d := *a.DockerAction
		c.DockerAction = &d
	}
	return &c
}

// Requirement decodes DeviceRequirement into its typed form.
func (a *Allocate) Requirement() (DeviceRequirement, error) {
	var r DeviceRequirement
	if len(a.DeviceRequirement) == 0 {
		return r, nil
	}
	if err := pyjson.Unmarshal(a.DeviceRequirement, &r); err != nil {
		return r, fmt.Errorf("wire: decode device_requirement: %w", err)
	}
	return r, nil
}

// SetRequirement encodes r into DeviceRequirement.
func (a *Allocate) SetRequirement(r DeviceRequirement) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("wire: encode device_requirement: %w", err)
	}
	a.DeviceRequirement = b
	return nil
}

// BodyHash computes the synapse body hash as Bittensor does: sha3_256 over the
// concatenated hex sha3_256 digests of str(value) of each hashed field, in
// declaration order. The hashed fields are those a HashedSynapse fixes, else
// those the synapse's required_hash_fields names (bittensor <= 7.1 reads
// that list from the request body), among the fields the synapse type can
// hash: names it does not know are skipped, as Python skips names that are
// not fields of its class. With no hashed field the hash is EmptyBodyHash.
func BodyHash(s Synapse) (string, error) {
	if hs, ok := s.(HashedSynapse); ok {
		return HashValues(hs.HashedFields()...)
	}
	names := s.Base().RequiredHashFields
	h, ok := s.(hashable)
	if len(names) == 0 || !ok {
		return EmptyBodyHash, nil
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	var strs []string
	for _, f := range h.hashFields() {
		if !want[f.name] {
			continue
		}
		v, err := f.str()
		if err != nil {
			return "", fmt.Errorf("wire: hash field %s: %w", f.name, err)
		}
		strs = append(strs, v)
	}
	return hashStrings(strs), nil
}

// HashValues is BodyHash over explicit field values.
func HashValues(values ...any) (string, error) {
	strs := make([]string, len(values))
	for i, v := range values {
		s, err := PyStr(v)
		if err != nil {
			return "", err
		}
		strs[i] = s
	}
	return hashStrings(strs), nil
}

// hashStrings is the body hash over the str() forms of the hashed fields.
func hashStrings(strs []string) string {
	if len(strs) == 0 {
		return EmptyBodyHash
	}
	outer := sha3.New256()
	for _, s := range strs {
		d := sha3.Sum256([]byte(s))
		var hx [64]byte
		hex.Encode(hx[:], d[:])
		outer.Write(hx[:])
	}
	return hex.EncodeToString(outer.Sum(nil))
}

func ptr[T any](v T) *T { return &v }
