package sqlite

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "h.db")
	st, err := Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, p
}

func TestTokenKey(t *testing.T) {
	ctx := context.Background()
	st, p := openTest(t)
	k1, err := st.TokenKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("key %x %v", k1, err)
	}
	st.Close()
	st2, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	k2, err := st2.TokenKey(ctx)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("key not kept: %x %x %v", k1, k2, err)
	}
}
