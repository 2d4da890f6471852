package lifecycle

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestLifecycle(t *testing.T) {
	s := New[int]("demo")
	if _, _, _, err := s.Begin(context.Background(), "send"); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Fatalf("Begin before Configure = %v, want ErrNotConfigured", err)
	}
	if err := s.Configure(7); err != nil {
		t.Fatal(err)
	}
	cfg, ctx, end, err := s.Begin(context.Background(), "send")
	if err != nil || cfg != 7 {
		t.Fatalf("Begin = %d, %v", cfg, err)
	}
	if err := s.Configure(8); err != nil {
		t.Fatal(err)
	}
	if c, ok := s.Config(); !ok || c != 8 {
		t.Errorf("Config = %d, %v; want 8", c, ok)
	}
	// Close cancels the running call and waits for it.
	ended := make(chan error, 1)
	go func() {
		<-ctx.Done()
		ended <- Err(ctx, "demo", "send")
		end()
	}()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, sdk.ErrClosed) {
			t.Errorf("a call ended by Close reports %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call was not cancelled")
	}
	if !s.Closed() {
		t.Error("Closed = false after Close")
	}
	for name, err := range map[string]error{
		"Close again": s.Close(context.Background()),
		"Configure":   s.Configure(1),
	} {
		if !errors.Is(err, sdk.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if _, _, _, err := s.Begin(context.Background(), "send"); !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("Begin after Close = %v, want ErrClosed", err)
	}
}

// TestCloseGivesUp: Close returns when its context ends, naming the wait,
// if a call does not return.
func TestCloseGivesUp(t *testing.T) {
	s := New[int]("demo")
	_ = s.Configure(1)
	_, _, end, err := s.Begin(context.Background(), "receive")
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a stuck call = %v, want DeadlineExceeded", err)
	}
}
