package plugins

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/plugins/tcp"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// benchBytesEnv sets how many bytes one benchmark iteration moves (the
// script in testdata/bench sets 1 GiB); default 64 MiB.
const benchBytesEnv = "FERRY_BENCH_BYTES"

// BenchmarkTLSOverTCP moves bytes over a TLS 1.3 channel pinned to both
// peer IDs, on a stream made by the tcp transport: once through the external
// plugin binaries (the stream's socket is handed over by descriptor) and
// once through the in-process twin. The difference is the plugin boundary's
// cost on the data path.
func BenchmarkTLSOverTCP(b *testing.B) {
	size := int64(64 << 20)
	if s := os.Getenv(benchBytesEnv); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive byte count", benchBytesEnv, s)
		}
		size = n
	}
	cfg := []byte(`{"listen":["127.0.0.1:0"]}`)
	b.Run("external", func(b *testing.B) {
		bin := plugintest.PluginBinary(b, "tcp", tcpPkg)
		x := plugintest.ConfiguredTransport(b, plugintest.Launch(b, bin), cfg)
		y := plugintest.ConfiguredTransport(b, plugintest.Launch(b, bin), cfg)
		benchTLS(b, x, y, size)
	})
	b.Run("inprocess", func(b *testing.B) {
		mk := func() sdk.Transport {
			t := tcp.New()
			ctx := context.Background()
			if err := t.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: cfg, Self: plugintest.RandomPeerID(b)}); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = t.Close(ctx) })
			return t
		}
		benchTLS(b, mk(), mk(), size)
	})
}

func benchTLS(b *testing.B, x, y sdk.Transport, size int64) {
	b.Helper()
	idA, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	idB, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(chunk)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		sa, sb, err := plugintest.ConnectPair(ctx, x, y, idA.ID, idB.ID)
		if err != nil {
			b.Fatal(err)
		}
		srvDone := make(chan error, 1)
		var got [32]byte
		go func() {
			conn, err := secure.Server(ctx, sb, idB, nil, []string{"/ferry/bench/1"})
			if err != nil {
				srvDone <- err
				return
			}
			h := sha256.New()
			_, err = io.Copy(h, conn)
			copy(got[:], h.Sum(nil))
			_ = conn.Close()
			srvDone <- err
		}()
		conn, err := secure.Client(ctx, sa, idA, idB.ID, []string{"/ferry/bench/1"})
		if err != nil {
			b.Fatal(err)
		}
		want := sha256.New()
		for left := size; left > 0; {
			n := min(left, int64(len(chunk)))
			if _, err := conn.Write(chunk[:n]); err != nil {
				b.Fatal(err)
			}
			want.Write(chunk[:n])
			left -= n
		}
		if err := conn.CloseWrite(); err != nil {
			b.Fatal(err)
		}
		if err := <-srvDone; err != nil {
			b.Fatal(err)
		}
		_ = conn.Close()
		cancel()
		if [32]byte(want.Sum(nil)) != got {
			b.Fatal("received bytes differ from sent bytes")
		}
	}
}
