package chain

import (
	"errors"
	"reflect"
	"testing"
)

func TestConvertWeights(t *testing.T) {
	cases := []struct {
		name    string
		uids    []uint16
		w       []float64
		wantU   []uint16
		wantW   []uint16
		wantErr error
	}{
		{"max becomes 65535", []uint16{0, 1, 2}, []float64{0.5, 0.25, 0.25}, []uint16{0, 1, 2}, []uint16{65535, 32768, 32768}, nil},
		{"zeros dropped", []uint16{3, 4}, []float64{1, 0}, []uint16{3}, []uint16{65535}, nil},
		{"all zero gives nothing", []uint16{1, 2}, []float64{0, 0}, []uint16{}, []uint16{}, nil},
		{"tiny rounds to zero and is dropped", []uint16{1, 2}, []float64{1, 1e-6}, []uint16{1}, []uint16{65535}, nil},
		{"half to even", []uint16{1, 2}, []float64{65535, 0.5}, []uint16{1}, []uint16{65535}, nil},
		{"half to even up", []uint16{1, 2}, []float64{65535, 1.5}, []uint16{1, 2}, []uint16{65535, 2}, nil},
		{"negative refused", []uint16{1}, []float64{-1}, nil, nil, ErrInvalidWeights},
		{"length mismatch", []uint16{1, 2}, []float64{1}, nil, nil, ErrInvalidWeights},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, w, err := ConvertWeights(tc.uids, tc.w)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(u, tc.wantU) || !reflect.DeepEqual(w, tc.wantW) {
				t.Errorf("got %v %v, want %v %v", u, w, tc.wantU, tc.wantW)
			}
		})
	}
}
