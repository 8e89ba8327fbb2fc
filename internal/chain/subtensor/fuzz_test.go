package subtensor

import (
	"testing"
)

func FuzzDecodeNeuronsLite(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add([]byte{0x04, 0x01})
	f.Add(make([]byte, 200))
	f.Fuzz(func(t *testing.T, b []byte) {
		ns, err := DecodeNeuronsLite(b)
		if err == nil {
			for i := range ns {
				_ = ns[i].ToNeuron()
			}
		}
		_, _ = DecodeNeuronLiteOption(b)
	})
}

func FuzzDecodeSubnetState(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add([]byte{0x01, 0x04, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeSubnetState(b)
	})
}

func FuzzDecodeExtrinsic(f *testing.F) {
	m := loadV14(f)
	cb, err := EncodeCall(m, SetWeightsCall(1, []uint16{0, 5}, []uint16{65535, 32768}, 142))
	if err != nil {
		f.Fatal(err)
	}
	xt, err := BuildSigned(m, cb, testParams(f), alice(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(xt)
	f.Add([]byte{0x04, 0x84, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeExtrinsic(m, b)
		_, _ = DecodeEvents(m, b)
	})
}
