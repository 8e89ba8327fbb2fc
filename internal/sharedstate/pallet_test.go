package sharedstate

import (
	"bytes"
	"testing"

	"github.com/sn27/compute/internal/chain/subtensor"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
)

// TestFitsTheCommitmentsPallet: the largest record the encoder writes goes
// into set_commitment as three Raw fields of at most 128 bytes, which,
// joined in order as the reader does, give the record back.
func TestFitsTheCommitmentsPallet(t *testing.T) {
	if MaxSize != subtensor.MaxCommitment {
		t.Fatalf("MaxSize %d, the pallet takes %d", MaxSize, subtensor.MaxCommitment)
	}
	for i, rec := range []Record{{Block: 1, Leased: seq(0, 1480)}, {Block: 9, Leased: []uint16{4}}} {
		b, err := rec.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && len(b) != MaxSize {
			t.Fatalf("the full record has %d bytes", len(b))
		}
		call, err := subtensor.CommitCall(27, b)
		if err != nil {
			t.Fatal(err)
		}
		fields := call.Args["info"].(map[string]any)["fields"].([]any)
		var joined []byte
		for _, f := range fields {
			v := f.(*metadata.VariantValue)
			raw := v.Fields.([]byte)
			if len(raw) > 128 {
				t.Fatalf("field %s of %d bytes", v.Name, len(raw))
			}
			joined = append(joined, raw...)
		}
		if len(fields) > 3 || !bytes.Equal(joined, b) {
			t.Fatalf("%d bytes in %d fields do not join back", len(b), len(fields))
		}
	}
}
