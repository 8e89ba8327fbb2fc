package renter

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// ErrInvalidSize marks a size that cannot be read.
var ErrInvalidSize = errors.New("invalid size")

// maxSizeText bounds the text ParseSize reads.
const maxSizeText = 64

// sizeExamples ends the message of a size that cannot be read.
const sizeExamples = "examples: 1073741824, 1GiB, 512MiB, 10GB"

// sizeError is the one wording of every size that cannot be read:
// invalid size "TEXT": WHY.
func sizeError(s, why string) error {
	if len(s) > maxSizeText {
		s = s[:maxSizeText] + "..."
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidSize, s, why)
}

// sizeUnits maps a lower-case unit to its multiplier: SI units (kB, MB, GB,
// TB, PB) are powers of 1000, IEC units (KiB, ..., PiB) and the one-letter
// forms (k, m, g, t, p, as Docker reads them) powers of 1024.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	"p": 1 << 50, "pib": 1 << 50, "pb": 1e15,
}

// ParseSize reads a size in bytes such as "1073741824", "1GiB", "512MiB",
// "10GB", "1.5g" or "2 TiB". Units are case-insensitive. A fractional value
// must come to a whole number of bytes. Negative, non-finite and sizes
// beyond 2^63-1 bytes are refused, all worded alike (see sizeError).
func ParseSize(s string) (int64, error) {
	if len(s) > maxSizeText {
		return 0, sizeError(s, "too long")
	}
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		return 0, sizeError(s, "a size cannot be negative")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, sizeError(s, "not a number with an optional unit ("+sizeExamples+")")
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, sizeError(s, fmt.Sprintf("unknown unit %q (use B, KiB, MiB, GiB, TiB, kB, MB, GB, TB or k, m, g, t)", t[i:]))
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/mult {
			return 0, sizeError(s, "too large")
		}
		return n * mult, nil
	}
	// Exact decimal arithmetic: 1.5GiB is 1610612736 bytes, not a float's guess.
	r, ok := new(big.Rat).SetString(num)
	if !ok || strings.Count(num, ".") != 1 || num == "." {
		return 0, sizeError(s, "not a number with an optional unit ("+sizeExamples+")")
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	if !r.IsInt() {
		return 0, sizeError(s, "not a whole number of bytes")
	}
	if !r.Num().IsInt64() {
		return 0, sizeError(s, "too large")
	}
	return r.Num().Int64(), nil
}

// FormatSize writes bytes with the largest IEC unit not above them and at
// most one decimal place: 1073741824 -> "1GiB", 1610612736 -> "1.5GiB",
// 1000 -> "1000B". It is for display; exact values are printed in bytes.
func FormatSize(n int64) string {
	units := []string{"PiB", "TiB", "GiB", "MiB", "KiB"}
	for i, u := range units {
		mult := int64(1) << (10 * (len(units) - i))
		if n >= mult {
			v := strconv.FormatFloat(float64(n)/float64(mult), 'f', 1, 64)
			return strings.TrimSuffix(v, ".0") + u
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// mebibytes converts a GPU memory size to the MB unit of device_requirement:
// a bare number is taken as MB already; a number with a unit is converted
// from bytes and rounded up to whole MiB.
func mebibytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	b, err := ParseSize(t)
	if err != nil {
		return 0, err
	}
	return (b + (1<<20 - 1)) >> 20, nil
}
