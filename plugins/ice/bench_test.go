package ice

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/plugins/tcp"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// BenchmarkStream moves one stream's worth of bytes per op, one way, over
// this transport host to host on loopback (256 MiB), through an in-process
// TURN relay (64 MiB), and over plugins/tcp (256 MiB) for comparison,
// each bare and with a TLS 1.3 layer on top as the core adds one (so the
// "+tls" rows show what the double encryption costs). Both ends, and the
// TURN server, run in this process: cpu-s/op is this process's user+sys
// CPU per op, for everything together.
//
//	go test -run '^$' -bench BenchmarkStream -benchtime 3x ./plugins/ice/
func BenchmarkStream(b *testing.B) {
	type pair func(b *testing.B) (a, z sdk.Transport)
	quiet := func(b *testing.B, opts map[string]any) sdk.Transport {
		tr := New(WithLogger(discardLog))
		if err := tr.Configure(plugintest.Context(b), sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: mustJSON(b, opts)}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = tr.Close(plugintest.Context(b)) })
		return tr
	}
	directPair := func(b *testing.B) (sdk.Transport, sdk.Transport) {
		return quiet(b, loopbackOptions()), quiet(b, loopbackOptions())
	}
	shared := func(b *testing.B) (sdk.Transport, sdk.Transport) {
		o := with(loopbackOptions(), map[string]any{"own_socket": false})
		return quiet(b, o), quiet(b, o)
	}
	relayed := func(b *testing.B) (sdk.Transport, sdk.Transport) {
		srv := startTURN(b)
		return quiet(b, relayOptions(srv.url("udp"))), quiet(b, relayOptions(srv.url("udp")))
	}
	coturn := func(b *testing.B) (sdk.Transport, sdk.Transport) {
		srv := startCoturn(b)
		return quiet(b, relayOptions(srv.url("udp"))), quiet(b, relayOptions(srv.url("udp")))
	}
	direct, relayedSize := benchMiB(b, "ICE_BENCH_DIRECT_MIB", 256), benchMiB(b, "ICE_BENCH_TURN_MIB", 64)
	plainTCP := func(b *testing.B) (sdk.Transport, sdk.Transport) {
		mk := func() sdk.Transport {
			tr := tcp.New(tcp.WithLogger(discardLog))
			if err := tr.Configure(plugintest.Context(b), sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: []byte(`{"listen":["127.0.0.1:0"]}`)}); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = tr.Close(plugintest.Context(b)) })
			return tr
		}
		return mk(), mk()
	}
	for _, c := range []struct {
		name string
		mk   pair
		size int64
		tls  bool
	}{
		{"ice-direct", directPair, direct, false},
		{"ice-direct+tls", directPair, direct, true},
		{"ice-direct-shared", shared, direct, false},
		{"ice-turn", relayed, relayedSize, false},
		{"ice-turn+tls", relayed, relayedSize, true},
		{"ice-coturn", coturn, relayedSize, false},
		{"tcp", plainTCP, direct, false},
		{"tcp+tls", plainTCP, direct, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			a, z := c.mk(b)
			sa, sz, err := plugintest.ConnectPair(plugintest.Context(b), a, z, plugintest.RandomPeerID(b), plugintest.RandomPeerID(b))
			if err != nil {
				b.Fatal(err)
			}
			var w io.Writer = sa
			var r io.Reader = sz
			if c.tls {
				w, r = tlsPair(b, sa, sz)
			}
			defer sa.Close()
			defer sz.Close()
			benchCopy(b, w, r, c.size)
		})
	}
}

// benchMiB returns the size the environment variable name gives in MiB,
// or def MiB.
func benchMiB(b *testing.B, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def << 20
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number of MiB", name, v)
	}
	return n << 20
}

// benchCopy writes size bytes to w per op while r is drained, and reports
// bytes/s and the process's CPU per op.
func benchCopy(b *testing.B, w io.Writer, r io.Reader, size int64) {
	buf := make([]byte, 256<<10)
	_, _ = rand.Read(buf)
	b.SetBytes(size)
	cpu0 := cpuTime()
	wall0 := time.Now()
	ops := 0
	for b.Loop() {
		ops++
		done := make(chan error, 1)
		go func() {
			_, err := io.CopyN(io.Discard, r, size)
			done <- err
		}()
		for n := int64(0); n < size; n += int64(len(buf)) {
			if _, err := w.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	cpu := (cpuTime() - cpu0).Seconds()
	wall := time.Since(wall0).Seconds()
	b.ReportMetric(cpu/float64(ops), "cpu-s/op")
	b.ReportMetric(cpu/float64(ops)/(float64(size)/(1<<30)), "cpu-s/GiB")
	b.ReportMetric(100*cpu/wall, "cpu%")
}

// cpuTime is this process's user+sys CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tlsPair runs TLS 1.3 over the two streams (client on a, server on z),
// as the core's secure channel does, and returns the client's writer and
// the server's reader.
func tlsPair(b *testing.B, a, z net.Conn) (io.Writer, io.Reader) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"bench"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	srv := tls.Server(z, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS13})
	cli := tls.Client(a, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}) //nolint:gosec // a benchmark
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		b.Fatal(err)
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return cli, srv
}
