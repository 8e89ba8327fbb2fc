package metadata

import (
	"fmt"

	"github.com/sn27/compute/internal/scale"
)

// Kind is the shape of a registry type.
type Kind uint8

// Type kinds, in the order of scale-info's TypeDef enum.
const (
	KindComposite Kind = iota
	KindVariant
	KindSequence
	KindArray
	KindTuple
	KindPrimitive
	KindCompact
	KindBitSequence
)

// Prim is a primitive type, in the order of scale-info's TypeDefPrimitive enum.
type Prim uint8

// Primitive types.
const (
	PrimBool Prim = iota
	PrimChar
	PrimStr
	PrimU8
	PrimU16
	PrimU32
	PrimU64
	PrimU128
	PrimU256
	PrimI8
	PrimI16
	PrimI32
	PrimI64
	PrimI128
	PrimI256
)

// Field is a named or unnamed member of a composite or variant.
type Field struct {
	Name     string
	Type     uint32
	TypeName string
}

// Variant is one case of an enum type.
type Variant struct {
	Name   string
	Index  uint8
	Fields []Field
	Docs   []string
}

// Type is one entry of the portable type registry.
type Type struct {
	ID       uint32
	Path     []string
	Kind     Kind
	Fields   []Field   // composite
	Variants []Variant // variant
	Elem     uint32    // sequence, array, compact
	Len      uint32    // array
	Tuple    []uint32  // tuple
	Prim     Prim      // primitive
}

// Name is the type's path joined with "::" (empty for anonymous types).
func (t *Type) Name() string {
	s := ""
	for i, p := range t.Path {
		if i > 0 {
			s += "::"
		}
		s += p
	}
	return s
}

// VariantByIndex returns the variant with the given index.
func (t *Type) VariantByIndex(i uint8) (*Variant, bool) {
	for k := range t.Variants {
		if t.Variants[k].Index == i {
			return &t.Variants[k], true
		}
	}
	return nil, false
}

// VariantByName returns the variant with the given name.
func (t *Type) VariantByName(name string) (*Variant, bool) {
	for k := range t.Variants {
		if t.Variants[k].Name == name {
			return &t.Variants[k], true
		}
	}
	return nil, false
}

func decodeStrings(d *scale.Decoder) []string {
	n := d.Len(1)
	out := make([]string, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, d.String())
	}
	return out
}

func decodeOptString(d *scale.Decoder) string {
	if d.Option() {
		return d.String()
	}
	return ""
}

func decodeTypeID(d *scale.Decoder) uint32 {
	v := d.Compact()
	if v > 1<<31 {
		d.Fail(fmt.Errorf("%w: type id %d", scale.ErrInvalid, v))
	}
	return uint32(v)
}

func decodeFields(d *scale.Decoder) []Field {
	n := d.Len(3)
	out := make([]Field, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		var f Field
		f.Name = decodeOptString(d)
		f.Type = decodeTypeID(d)
		f.TypeName = decodeOptString(d)
		decodeStrings(d) // docs
		out = append(out, f)
	}
	return out
}

// decodeRegistry reads a PortableRegistry and checks that ids are dense (0..n-1).
func decodeRegistry(d *scale.Decoder) []Type {
	n := d.Len(4)
	types := make([]Type, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		var t Type
		t.ID = decodeTypeID(d)
		if d.Err() == nil && t.ID != uint32(i) {
			d.Fail(fmt.Errorf("%w: type id %d at position %d", scale.ErrInvalid, t.ID, i))
			break
		}
		t.Path = decodeStrings(d)
		np := d.Len(2)
		for j := 0; j < np && d.Err() == nil; j++ {
			_ = d.String()
			if d.Option() {
				decodeTypeID(d)
			}
		}
		t.Kind = Kind(d.U8())
		switch t.Kind {
		case KindComposite:
			t.Fields = decodeFields(d)
		case KindVariant:
			nv := d.Len(4)
			t.Variants = make([]Variant, 0, nv)
			for j := 0; j < nv && d.Err() == nil; j++ {
				var v Variant
				v.Name = d.String()
				v.Fields = decodeFields(d)
				v.Index = d.U8()
				v.Docs = decodeStrings(d)
				t.Variants = append(t.Variants, v)
			}
		case KindSequence, KindCompact:
			t.Elem = decodeTypeID(d)
		case KindArray:
			t.Len = d.U32()
			t.Elem = decodeTypeID(d)
		case KindTuple:
			nt := d.Len(1)
			t.Tuple = make([]uint32, 0, nt)
			for j := 0; j < nt && d.Err() == nil; j++ {
				t.Tuple = append(t.Tuple, decodeTypeID(d))
			}
		case KindPrimitive:
			t.Prim = Prim(d.U8())
			if t.Prim > PrimI256 {
				d.Fail(fmt.Errorf("%w: primitive %d", scale.ErrInvalid, t.Prim))
			}
		case KindBitSequence:
			t.Elem = decodeTypeID(d) // bit store
			decodeTypeID(d)          // bit order
		default:
			d.Fail(fmt.Errorf("%w: type kind %d", scale.ErrInvalid, t.Kind))
		}
		decodeStrings(d) // docs
		types = append(types, t)
	}
	return types
}
