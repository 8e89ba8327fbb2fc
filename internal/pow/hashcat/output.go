package hashcat

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// ParsePlain decodes one plain as hashcat prints it: as is, or $HEX[...] when
// it holds bytes hashcat does not print literally.
func ParsePlain(s string) (string, error) {
	s = strings.TrimRight(s, "\r\n")
	if strings.HasPrefix(s, "$HEX[") && strings.HasSuffix(s, "]") {
		b, err := hex.DecodeString(s[5 : len(s)-1])
		if err != nil {
			return "", fmt.Errorf("hashcat: bad $HEX[] plain %q: %w", s, err)
		}
		return string(b), nil
	}
	return s, nil
}

// ParseOutput finds the password in hashcat's output: the line that starts
// with hashLine ("$BLAKE2$<hex>:<salt>") holds it after the following ':';
// other lines that hold the hash are read after their last ':'. The hash
// is matched case-insensitively. It returns every candidate found, in order.
func ParseOutput(out []byte, hashLine string) []string {
	var cands []string
	hexPart := strings.ToLower(hashLine)
	if i := strings.IndexByte(hexPart, ':'); i >= 0 {
		hexPart = hexPart[:i]
	}
	if hexPart == "" {
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		low := strings.ToLower(line)
		if !strings.Contains(low, hexPart) {
			continue
		}
		if strings.HasPrefix(low, strings.ToLower(hashLine)+":") {
			if p, err := ParsePlain(line[len(hashLine)+1:]); err == nil {
				cands = append(cands, p)
			}
		}
		if i := strings.LastIndexByte(line, ':'); i >= 0 {
			if p, err := ParsePlain(line[i+1:]); err == nil {
				cands = append(cands, p)
			}
		}
	}
	return cands
}

// ParseSpeed reads the total speed of `hashcat -b` output in hashes per
// second: the "Speed.#*" line when present, else the sum of "Speed.#N" lines.
func ParseSpeed(out []byte) (float64, error) {
	var total, sum float64
	var haveTotal, haveAny bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "Speed.#") {
			continue
		}
		i := strings.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		f := strings.Fields(line[i+1:])
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		switch f[1] {
		case "H/s":
		case "kH/s":
			v *= 1e3
		case "MH/s":
			v *= 1e6
		case "GH/s":
			v *= 1e9
		case "TH/s":
			v *= 1e12
		default:
			continue
		}
		if strings.HasPrefix(line, "Speed.#*") {
			total, haveTotal = v, true
		} else {
			sum += v
			haveAny = true
		}
	}
	switch {
	case haveTotal:
		return total, nil
	case haveAny:
		return sum, nil
	}
	return 0, fmt.Errorf("hashcat: no speed in benchmark output")
}

// parseVersion reads "v6.2.6" (or "6.2.6-123-gabc") into its numbers.
func parseVersion(s string) ([3]int, error) {
	var v [3]int
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(s, "-+ "); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return v, fmt.Errorf("hashcat: unrecognised version %q", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, fmt.Errorf("hashcat: unrecognised version %q", s)
		}
		v[i] = n
	}
	return v, nil
}
