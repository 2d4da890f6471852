package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

func ask(id string) node.Ask {
	return node.Ask{PeerName: "bob", Offer: sdk.Offer{TransferID: id, Files: []sdk.FileInfo{{Name: "a/x.txt", Size: 3}, {Name: "a/y.txt", Size: 4}, {Name: "z", Size: 5}}}}
}

// waitOffers waits until n offers are waiting.
func waitOffers(t *testing.T, o *Offers, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(o.List()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d offers waiting, want %d", len(o.List()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestOffers: Decide waits for Answer; a prefix names an offer, "" the
// only one; none or several matching is ErrNotFound; a withdrawn offer
// leaves the list.
func TestOffers(t *testing.T) {
	o := NewOffers()
	answers := make(chan string, 3)
	for _, id := range []string{"aaaa1111", "aaaa2222"} {
		go func() { answers <- o.Decide(context.Background(), ask(id)) }()
	}
	waitOffers(t, o, 2)
	got := o.List()[0]
	if got.Files != 3 || got.Total != 12 || len(got.Names) != 2 || got.Names[0] != "a" || got.Names[1] != "z" {
		t.Errorf("offer listed as %+v", got)
	}
	for _, id := range []string{"", "aaaa", "bbbb"} {
		if err := o.Answer(id, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("Answer(%q) with two waiting: %v, want ErrNotFound", id, err)
		}
	}
	if err := o.Answer("AAAA2", "no thanks"); err != nil {
		t.Fatal(err)
	}
	if a := <-answers; a != "no thanks" {
		t.Errorf("refused offer decided %q", a)
	}
	if err := o.Answer("", ""); err != nil {
		t.Fatalf("Answer of the only one: %v", err)
	}
	if a := <-answers; a != "" {
		t.Errorf("accepted offer decided %q", a)
	}
	waitOffers(t, o, 0)

	probe := ask("eeee")
	probe.Probe = true
	if why := o.Decide(context.Background(), probe); why != ProbesRefused {
		t.Errorf("a connection test was answered %q, want it refused", why)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { answers <- o.Decide(ctx, ask("cccc")) }()
	waitOffers(t, o, 1)
	cancel()
	<-answers
	waitOffers(t, o, 0)
	if err := o.Answer("cccc", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("answer to a withdrawn offer: %v", err)
	}
}
