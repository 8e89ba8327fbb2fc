package dl

import "testing"

func TestOpenMissingLibrary(t *testing.T) {
	if _, _, err := Open([]string{"libcompute-does-not-exist.so.9"}); err == nil {
		t.Fatal("opening a missing library succeeded")
	}
	if _, _, err := Open(nil); err == nil {
		t.Fatal("opening no library succeeded")
	}
}
