package metadata

import (
	"errors"
	"fmt"

	"github.com/sn27/compute/internal/scale"
)

// Magic is the "meta" prefix of encoded runtime metadata.
const Magic = 0x6174656d

// ErrUnsupported is returned for metadata versions other than 14 and 15.
var ErrUnsupported = errors.New("metadata: unsupported metadata version")

// Hasher is a storage key hasher, in the order of the StorageHasher enum.
type Hasher uint8

// Storage hashers.
const (
	Blake2_128 Hasher = iota
	Blake2_256
	Blake2_128Concat
	Twox128
	Twox256
	Twox64Concat
	Identity
)

// StorageEntry describes one storage item of a pallet.
type StorageEntry struct {
	Name     string
	Optional bool // modifier Optional (absent reads as None) rather than Default
	Plain    bool
	Hashers  []Hasher
	Key      uint32 // key type (a tuple when there are several hashers)
	Value    uint32
	Default  []byte
}

// Constant is a pallet constant with its encoded value.
type Constant struct {
	Name  string
	Type  uint32
	Value []byte
}

// Pallet is one runtime module.
type Pallet struct {
	Name          string
	Index         uint8
	StoragePrefix string
	Storage       []StorageEntry
	HasCalls      bool
	CallType      uint32
	HasEvents     bool
	EventType     uint32
	HasErrors     bool
	ErrorType     uint32
	Constants     []Constant
}

// SignedExtension is one transaction extension the runtime declares.
type SignedExtension struct {
	Identifier       string
	Type             uint32 // the explicit ("extra") part
	AdditionalSigned uint32 // the implicit part, signed but not sent
}

// RuntimeAPI is a runtime API declared in V15 metadata.
type RuntimeAPI struct {
	Name    string
	Methods []string
}

// Metadata is parsed runtime metadata.
type Metadata struct {
	Version          uint8
	Types            []Type
	Pallets          []Pallet
	ExtrinsicVersion uint8
	Extensions       []SignedExtension
	RuntimeType      uint32
	APIs             []RuntimeAPI // V15 only
}

// Parse decodes encoded metadata ("meta" magic, version byte, body). Every byte must be consumed.
func Parse(b []byte) (*Metadata, error) {
	d := scale.NewDecoder(b)
	if magic := d.U32(); d.Err() == nil && magic != Magic {
		return nil, fmt.Errorf("metadata: bad magic %#08x (want \"meta\")", magic)
	}
	m := &Metadata{Version: d.U8()}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if m.Version != 14 && m.Version != 15 {
		return nil, fmt.Errorf("%w: V%d", ErrUnsupported, m.Version)
	}
	m.Types = decodeRegistry(d)
	np := d.Len(4)
	m.Pallets = make([]Pallet, 0, np)
	for i := 0; i < np && d.Err() == nil; i++ {
		m.Pallets = append(m.Pallets, decodePallet(d, m.Version))
	}
	if m.Version == 14 {
		decodeTypeID(d) // extrinsic type
		m.ExtrinsicVersion = d.U8()
	} else {
		m.ExtrinsicVersion = d.U8()
		for range 4 { // address, call, signature, extra types
			decodeTypeID(d)
		}
	}
	ne := d.Len(3)
	for i := 0; i < ne && d.Err() == nil; i++ {
		m.Extensions = append(m.Extensions, SignedExtension{
			Identifier: d.String(), Type: decodeTypeID(d), AdditionalSigned: decodeTypeID(d),
		})
	}
	m.RuntimeType = decodeTypeID(d)
	if m.Version == 15 {
		na := d.Len(3)
		for i := 0; i < na && d.Err() == nil; i++ {
			api := RuntimeAPI{Name: d.String()}
			nm := d.Len(4)
			for j := 0; j < nm && d.Err() == nil; j++ {
				api.Methods = append(api.Methods, d.String())
				ni := d.Len(2)
				for k := 0; k < ni && d.Err() == nil; k++ {
					_ = d.String()
					decodeTypeID(d)
				}
				decodeTypeID(d) // output
				decodeStrings(d)
			}
			decodeStrings(d)
			m.APIs = append(m.APIs, api)
		}
		for range 3 { // outer call, event, error enums
			decodeTypeID(d)
		}
		nc := d.Len(3)
		for i := 0; i < nc && d.Err() == nil; i++ {
			_ = d.String()
			decodeTypeID(d)
			d.VecU8()
		}
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("metadata V%d: %w", m.Version, err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("metadata V%d: %w", m.Version, err)
	}
	return m, nil
}

func decodePallet(d *scale.Decoder, version uint8) Pallet {
	p := Pallet{Name: d.String()}
	if d.Option() {
		p.StoragePrefix = d.String()
		n := d.Len(4)
		for i := 0; i < n && d.Err() == nil; i++ {
			e := StorageEntry{Name: d.String()}
			mod := d.U8()
			if mod > 1 {
				d.Fail(fmt.Errorf("%w: storage modifier %d", scale.ErrInvalid, mod))
			}
			e.Optional = mod == 0
			switch kind := d.U8(); kind {
			case 0:
				e.Plain = true
				e.Value = decodeTypeID(d)
			case 1:
				nh := d.Len(1)
				for j := 0; j < nh && d.Err() == nil; j++ {
					h := Hasher(d.U8())
					if h > Identity {
						d.Fail(fmt.Errorf("%w: storage hasher %d", scale.ErrInvalid, h))
					}
					e.Hashers = append(e.Hashers, h)
				}
				e.Key = decodeTypeID(d)
				e.Value = decodeTypeID(d)
			default:
				d.Fail(fmt.Errorf("%w: storage entry kind %d", scale.ErrInvalid, kind))
			}
			e.Default = d.VecU8()
			decodeStrings(d)
			p.Storage = append(p.Storage, e)
		}
	}
	if p.HasCalls = d.Option(); p.HasCalls {
		p.CallType = decodeTypeID(d)
	}
	if p.HasEvents = d.Option(); p.HasEvents {
		p.EventType = decodeTypeID(d)
	}
	nc := d.Len(4)
	for i := 0; i < nc && d.Err() == nil; i++ {
		c := Constant{Name: d.String(), Type: decodeTypeID(d), Value: d.VecU8()}
		decodeStrings(d)
		p.Constants = append(p.Constants, c)
	}
	if p.HasErrors = d.Option(); p.HasErrors {
		p.ErrorType = decodeTypeID(d)
	}
	p.Index = d.U8()
	if version >= 15 {
		decodeStrings(d)
	}
	return p
}

// validate checks that every type reference points into the registry.
func (m *Metadata) validate() error {
	n := uint32(len(m.Types))
	bad := func(id uint32) bool { return id >= n }
	for i := range m.Types {
		t := &m.Types[i]
		for _, f := range t.Fields {
			if bad(f.Type) {
				return fmt.Errorf("type %d refers to missing type %d", i, f.Type)
			}
		}
		for _, v := range t.Variants {
			for _, f := range v.Fields {
				if bad(f.Type) {
					return fmt.Errorf("type %d refers to missing type %d", i, f.Type)
				}
			}
		}
		for _, e := range t.Tuple {
			if bad(e) {
				return fmt.Errorf("type %d refers to missing type %d", i, e)
			}
		}
		if (t.Kind == KindSequence || t.Kind == KindArray || t.Kind == KindCompact || t.Kind == KindBitSequence) && bad(t.Elem) {
			return fmt.Errorf("type %d refers to missing type %d", i, t.Elem)
		}
	}
	for _, p := range m.Pallets {
		for _, e := range p.Storage {
			if bad(e.Key) || bad(e.Value) {
				return fmt.Errorf("storage %s.%s refers to a missing type", p.Name, e.Name)
			}
		}
		for _, id := range []struct {
			has bool
			id  uint32
		}{{p.HasCalls, p.CallType}, {p.HasEvents, p.EventType}, {p.HasErrors, p.ErrorType}} {
			if id.has && (bad(id.id) || m.Types[id.id].Kind != KindVariant) {
				return fmt.Errorf("pallet %s: call/event/error type %d is missing or not an enum", p.Name, id.id)
			}
		}
		for _, c := range p.Constants {
			if bad(c.Type) {
				return fmt.Errorf("constant %s.%s refers to a missing type", p.Name, c.Name)
			}
		}
	}
	for _, e := range m.Extensions {
		if bad(e.Type) || bad(e.AdditionalSigned) {
			return fmt.Errorf("signed extension %s refers to a missing type", e.Identifier)
		}
	}
	return nil
}

// Pallet returns the pallet with the given name.
func (m *Metadata) Pallet(name string) (*Pallet, error) {
	for i := range m.Pallets {
		if m.Pallets[i].Name == name {
			return &m.Pallets[i], nil
		}
	}
	return nil, fmt.Errorf("metadata: runtime has no pallet %q", name)
}

// PalletByIndex returns the pallet with the given index.
func (m *Metadata) PalletByIndex(i uint8) (*Pallet, bool) {
	for k := range m.Pallets {
		if m.Pallets[k].Index == i {
			return &m.Pallets[k], true
		}
	}
	return nil, false
}

// Type returns the registry type with the given id.
func (m *Metadata) Type(id uint32) (*Type, error) {
	if int64(id) >= int64(len(m.Types)) {
		return nil, fmt.Errorf("metadata: no type %d", id)
	}
	return &m.Types[id], nil
}

// Call returns the call variant pallet.name together with the pallet.
func (m *Metadata) Call(pallet, name string) (*Pallet, *Variant, error) {
	p, err := m.Pallet(pallet)
	if err != nil {
		return nil, nil, err
	}
	if !p.HasCalls {
		return nil, nil, fmt.Errorf("metadata: pallet %s has no calls", pallet)
	}
	v, ok := m.Types[p.CallType].VariantByName(name)
	if !ok {
		return nil, nil, fmt.Errorf("metadata: pallet %s has no call %q", pallet, name)
	}
	return p, v, nil
}

// Storage returns the storage entry pallet.name together with the pallet.
func (m *Metadata) Storage(pallet, name string) (*Pallet, *StorageEntry, error) {
	p, err := m.Pallet(pallet)
	if err != nil {
		return nil, nil, err
	}
	for i := range p.Storage {
		if p.Storage[i].Name == name {
			return p, &p.Storage[i], nil
		}
	}
	return nil, nil, fmt.Errorf("metadata: pallet %s has no storage item %q", pallet, name)
}

// ModuleError names a pallet error from DispatchError::Module's pallet index and first error byte.
func (m *Metadata) ModuleError(palletIndex, errIndex uint8) (pallet string, v *Variant, err error) {
	p, ok := m.PalletByIndex(palletIndex)
	if !ok {
		return "", nil, fmt.Errorf("metadata: no pallet with index %d", palletIndex)
	}
	if !p.HasErrors {
		return p.Name, nil, fmt.Errorf("metadata: pallet %s declares no errors", p.Name)
	}
	v, ok = m.Types[p.ErrorType].VariantByIndex(errIndex)
	if !ok {
		return p.Name, nil, fmt.Errorf("metadata: pallet %s has no error %d", p.Name, errIndex)
	}
	return p.Name, v, nil
}

// CallCount is the number of calls over all pallets.
func (m *Metadata) CallCount() int {
	n := 0
	for _, p := range m.Pallets {
		if p.HasCalls {
			n += len(m.Types[p.CallType].Variants)
		}
	}
	return n
}
