package transfer_test

import (
	"testing"
)

// TestReceived counts what `ferry status` shows: done files whole, and the
// committed ranges of the others, including a hole.
func TestReceived(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	peer := newPeer(t)
	a, b := data(1000, 1), data(5000, 2)
	inc := accept(t, in, peer, file("a", a), file("b", b))
	receive(t, inc, 0, a)
	p := create(t, inc, 1)
	put(t, p, b, 0, 100)
	put(t, p, b, 1000, 500)
	pending, err := in.Pending()
	if err != nil || len(pending) != 1 {
		t.Fatalf("Pending = %v, %v", pending, err)
	}
	if got, want := in.Received(pending[0]), int64(1000+100+500); got != want {
		t.Errorf("Received = %d, want %d", got, want)
	}
}
