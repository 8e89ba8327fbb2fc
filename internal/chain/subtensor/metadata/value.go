package metadata

import (
	"fmt"
	"math/big"
	"reflect"

	"github.com/sn27/compute/internal/scale"
)

// maxDepth bounds recursion through nested types so hostile metadata or data cannot blow the stack.
const maxDepth = 64

// VariantValue is a decoded enum value. Fields follows the composite rules of Decode.
type VariantValue struct {
	Name   string
	Index  uint8
	Fields any
}

// Decode reads one value of type id. Values come back as:
// bool; uint64 (unsigned up to 64 bits and compacts that fit); int64; *big.Int (128/256-bit);
// string (str, char); []byte (sequences and arrays of u8); []any (other sequences, arrays,
// tuples, composites with unnamed fields); map[string]any (composites with named fields);
// *VariantValue (enums). A composite with exactly one field is transparent: its value is the field's.
func (m *Metadata) Decode(d *scale.Decoder, id uint32) any {
	return m.decode(d, id, 0)
}

// DecodeAll decodes b as one value of type id and requires every byte to be consumed.
func (m *Metadata) DecodeAll(b []byte, id uint32) (any, error) {
	d := scale.NewDecoder(b)
	v := m.Decode(d, id)
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode %s: %w", m.typeLabel(id), err)
	}
	return v, nil
}

func (m *Metadata) typeLabel(id uint32) string {
	if int64(id) < int64(len(m.Types)) && len(m.Types[id].Path) > 0 {
		return m.Types[id].Name()
	}
	return fmt.Sprintf("type %d", id)
}

func (m *Metadata) decode(d *scale.Decoder, id uint32, depth int) any {
	if d.Err() != nil {
		return nil
	}
	if depth > maxDepth {
		d.Fail(fmt.Errorf("%w: types nested deeper than %d", scale.ErrInvalid, maxDepth))
		return nil
	}
	t, err := m.Type(id)
	if err != nil {
		d.Fail(err)
		return nil
	}
	switch t.Kind {
	case KindComposite:
		return m.decodeFields(d, t.Fields, depth)
	case KindVariant:
		idx := d.U8()
		if d.Err() != nil {
			return nil
		}
		v, ok := t.VariantByIndex(idx)
		if !ok {
			d.Fail(fmt.Errorf("%w: %s has no variant %d", scale.ErrInvalid, m.typeLabel(id), idx))
			return nil
		}
		return &VariantValue{Name: v.Name, Index: idx, Fields: m.decodeFields(d, v.Fields, depth)}
	case KindSequence:
		if m.isU8(t.Elem) {
			return d.VecU8()
		}
		n := d.Len(1)
		out := make([]any, 0, min(n, 1024))
		for i := 0; i < n && d.Err() == nil; i++ {
			out = append(out, m.decode(d, t.Elem, depth+1))
		}
		return out
	case KindArray:
		if m.isU8(t.Elem) {
			if int64(t.Len) > int64(d.Remaining()) {
				d.Fail(fmt.Errorf("%w: array of %d bytes", scale.ErrShort, t.Len))
				return nil
			}
			return append([]byte(nil), d.Bytes(int(t.Len))...)
		}
		if int64(t.Len) > int64(d.Remaining())+1 && t.Len > 0 {
			// every element of a non-empty type takes at least one byte; zero-sized
			// elements are rare enough that a cap on the count is fine
			if t.Len > 1<<16 {
				d.Fail(fmt.Errorf("%w: array of %d elements", scale.ErrShort, t.Len))
				return nil
			}
		}
		out := make([]any, 0, min(int(t.Len), 1024))
		for i := uint32(0); i < t.Len && d.Err() == nil; i++ {
			out = append(out, m.decode(d, t.Elem, depth+1))
		}
		return out
	case KindTuple:
		out := make([]any, 0, len(t.Tuple))
		for _, e := range t.Tuple {
			out = append(out, m.decode(d, e, depth+1))
		}
		return out
	case KindPrimitive:
		return decodePrim(d, t.Prim)
	case KindCompact:
		v := d.CompactBig()
		if v.IsUint64() {
			return v.Uint64()
		}
		return v
	case KindBitSequence:
		bits := d.Compact()
		store, err := m.Type(t.Elem)
		if err != nil || store.Kind != KindPrimitive {
			d.Fail(fmt.Errorf("%w: bit sequence store type", scale.ErrInvalid))
			return nil
		}
		size := map[Prim]uint64{PrimU8: 1, PrimU16: 2, PrimU32: 4, PrimU64: 8}[store.Prim]
		if size == 0 {
			d.Fail(fmt.Errorf("%w: bit sequence store type", scale.ErrInvalid))
			return nil
		}
		words := (bits + size*8 - 1) / (size * 8)
		if words > uint64(d.Remaining())/size {
			d.Fail(fmt.Errorf("%w: bit sequence of %d bits", scale.ErrShort, bits))
			return nil
		}
		return append([]byte(nil), d.Bytes(int(words*size))...)
	}
	d.Fail(fmt.Errorf("%w: type kind %d", scale.ErrInvalid, t.Kind))
	return nil
}

func (m *Metadata) isU8(id uint32) bool {
	t, err := m.Type(id)
	return err == nil && t.Kind == KindPrimitive && t.Prim == PrimU8
}

func (m *Metadata) decodeFields(d *scale.Decoder, fields []Field, depth int) any {
	switch {
	case len(fields) == 0:
		return nil
	case len(fields) == 1:
		return m.decode(d, fields[0].Type, depth+1)
	case fields[0].Name != "":
		out := make(map[string]any, len(fields))
		for _, f := range fields {
			out[f.Name] = m.decode(d, f.Type, depth+1)
		}
		return out
	default:
		out := make([]any, 0, len(fields))
		for _, f := range fields {
			out = append(out, m.decode(d, f.Type, depth+1))
		}
		return out
	}
}

func decodePrim(d *scale.Decoder, p Prim) any {
	switch p {
	case PrimBool:
		return d.Bool()
	case PrimChar:
		r := d.U32()
		return string(rune(r))
	case PrimStr:
		return d.String()
	case PrimU8:
		return uint64(d.U8())
	case PrimU16:
		return uint64(d.U16())
	case PrimU32:
		return uint64(d.U32())
	case PrimU64:
		return d.U64()
	case PrimU128:
		return d.U128()
	case PrimU256:
		return d.U256()
	case PrimI8:
		return int64(int8(d.U8()))
	case PrimI16:
		return int64(int16(d.U16()))
	case PrimI32:
		return int64(int32(d.U32()))
	case PrimI64:
		return int64(d.U64())
	case PrimI128, PrimI256:
		n := 16
		if p == PrimI256 {
			n = 32
		}
		b := d.Bytes(n)
		if b == nil {
			return new(big.Int)
		}
		v := new(big.Int).SetBytes(reverse(b))
		if b[n-1]&0x80 != 0 {
			v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(n*8)))
		}
		return v
	}
	d.Fail(fmt.Errorf("%w: primitive %d", scale.ErrInvalid, p))
	return nil
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// Encode appends v encoded as type id. It accepts the shapes Decode produces and, for
// convenience, Go integers of any width, slices and arrays of any element type, and a
// string naming a field-less enum variant.
func (m *Metadata) Encode(b []byte, id uint32, v any) ([]byte, error) {
	return m.encode(b, id, v, 0)
}

func (m *Metadata) encode(b []byte, id uint32, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("encode: types nested deeper than %d", maxDepth)
	}
	t, err := m.Type(id)
	if err != nil {
		return nil, err
	}
	switch t.Kind {
	case KindComposite:
		return m.encodeFields(b, t.Fields, v, m.typeLabel(id), depth)
	case KindVariant:
		var name string
		var fields any
		switch x := v.(type) {
		case string:
			name = x
		case *VariantValue:
			name, fields = x.Name, x.Fields
		case VariantValue:
			name, fields = x.Name, x.Fields
		default:
			return nil, fmt.Errorf("encode %s: want a variant, got %T", m.typeLabel(id), v)
		}
		vr, ok := t.VariantByName(name)
		if !ok {
			return nil, fmt.Errorf("encode %s: no variant %q", m.typeLabel(id), name)
		}
		return m.encodeFields(append(b, vr.Index), vr.Fields, fields, m.typeLabel(id)+"::"+name, depth)
	case KindSequence, KindArray:
		rv := reflect.ValueOf(v)
		if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
			return nil, fmt.Errorf("encode %s: want a list, got %T", m.typeLabel(id), v)
		}
		if t.Kind == KindArray && rv.Len() != int(t.Len) {
			return nil, fmt.Errorf("encode %s: want %d elements, got %d", m.typeLabel(id), t.Len, rv.Len())
		}
		if t.Kind == KindSequence {
			b = scale.AppendCompact(b, uint64(rv.Len()))
		}
		for i := 0; i < rv.Len(); i++ {
			if b, err = m.encode(b, t.Elem, rv.Index(i).Interface(), depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case KindTuple:
		rv := reflect.ValueOf(v)
		if len(t.Tuple) == 0 {
			return b, nil
		}
		if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Len() != len(t.Tuple) {
			return nil, fmt.Errorf("encode %s: want a %d-tuple, got %T", m.typeLabel(id), len(t.Tuple), v)
		}
		for i, e := range t.Tuple {
			if b, err = m.encode(b, e, rv.Index(i).Interface(), depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case KindPrimitive:
		return encodePrim(b, t.Prim, v)
	case KindCompact:
		n, err := toBig(v)
		if err != nil || n.Sign() < 0 {
			return nil, fmt.Errorf("encode compact: want a non-negative integer, got %T", v)
		}
		return scale.AppendCompactBig(b, n), nil
	}
	return nil, fmt.Errorf("encode %s: kind %d is not supported", m.typeLabel(id), t.Kind)
}

func (m *Metadata) encodeFields(b []byte, fields []Field, v any, label string, depth int) ([]byte, error) {
	var err error
	switch {
	case len(fields) == 0:
		return b, nil
	case len(fields) == 1:
		// Decode makes one-field composites transparent; accept both forms here.
		if mp, ok := v.(map[string]any); ok && fields[0].Name != "" {
			if fv, ok := mp[fields[0].Name]; ok && len(mp) == 1 {
				v = fv
			}
		}
		return m.encode(b, fields[0].Type, v, depth+1)
	}
	if mp, ok := v.(map[string]any); ok {
		for _, f := range fields {
			fv, ok := mp[f.Name]
			if !ok {
				return nil, fmt.Errorf("encode %s: missing field %q", label, f.Name)
			}
			if b, err = m.encode(b, f.Type, fv, depth+1); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		return b, nil
	}
	list, ok := v.([]any)
	if !ok || len(list) != len(fields) {
		return nil, fmt.Errorf("encode %s: want %d fields as map[string]any or []any, got %T", label, len(fields), v)
	}
	for i, f := range fields {
		if b, err = m.encode(b, f.Type, list[i], depth+1); err != nil {
			return nil, fmt.Errorf("field %d: %w", i, err)
		}
	}
	return b, nil
}

func toBig(v any) (*big.Int, error) {
	switch x := v.(type) {
	case *big.Int:
		return x, nil
	case big.Int:
		return &x, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return big.NewInt(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return new(big.Int).SetUint64(rv.Uint()), nil
	}
	return nil, fmt.Errorf("want an integer, got %T", v)
}

func encodePrim(b []byte, p Prim, v any) ([]byte, error) {
	switch p {
	case PrimBool:
		x, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("encode bool: got %T", v)
		}
		return scale.AppendBool(b, x), nil
	case PrimStr:
		x, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("encode str: got %T", v)
		}
		return scale.AppendVecU8(b, []byte(x)), nil
	case PrimChar:
		x, ok := v.(string)
		if !ok || len([]rune(x)) != 1 {
			return nil, fmt.Errorf("encode char: want a one-rune string, got %v", v)
		}
		return scale.AppendU32(b, uint32([]rune(x)[0])), nil
	}
	n, err := toBig(v)
	if err != nil {
		return nil, fmt.Errorf("encode integer: %w", err)
	}
	size := map[Prim]int{PrimU8: 1, PrimU16: 2, PrimU32: 4, PrimU64: 8, PrimU128: 16, PrimU256: 32,
		PrimI8: 1, PrimI16: 2, PrimI32: 4, PrimI64: 8, PrimI128: 16, PrimI256: 32}[p]
	if size == 0 {
		return nil, fmt.Errorf("encode: primitive %d is not supported", p)
	}
	signed := p >= PrimI8
	bits := uint(size * 8)
	if signed {
		lo := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), bits-1))
		hi := new(big.Int).Lsh(big.NewInt(1), bits-1)
		if n.Cmp(lo) < 0 || n.Cmp(hi) >= 0 {
			return nil, fmt.Errorf("encode: %s does not fit in i%d", n, bits)
		}
		if n.Sign() < 0 {
			n = new(big.Int).Add(n, new(big.Int).Lsh(big.NewInt(1), bits))
		}
	} else if n.Sign() < 0 || n.BitLen() > int(bits) {
		return nil, fmt.Errorf("encode: %s does not fit in u%d", n, bits)
	}
	return append(b, scale.LittleEndian(n, size)...), nil
}

// AsUint returns v as a uint64 when it is an unsigned integer value that fits.
func AsUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint64:
		return x, true
	case *big.Int:
		if x.IsUint64() {
			return x.Uint64(), true
		}
	case int64:
		if x >= 0 {
			return uint64(x), true
		}
	}
	return 0, false
}
