// Command benchtool is the bench scripts' helper: a bare TLS 1.3
// file-to-file copy over loopback (the baseline Ferry is measured
// against), and a wrapper that reports a command's wall time and peak RSS.
//
//	benchtool tls-recv -addr 127.0.0.1:0 -out FILE -port-file P
//	benchtool tls-send -addr 127.0.0.1:PORT -in FILE
//	benchtool tcp-recv -port-file P    (the connection's bytes to stdout)
//	benchtool tcp-send -addr 127.0.0.1:PORT    (stdin to the connection)
//	benchtool rusage -o RESULT -- CMD ARGS...
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool tls-recv|tls-send|tcp-recv|tcp-send|rusage ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "tls-recv":
		err = tlsRecv(os.Args[2:])
	case "tls-send":
		err = tlsSend(os.Args[2:])
	case "tcp-recv":
		err = tcpRecv(os.Args[2:])
	case "tcp-send":
		err = tcpSend(os.Args[2:])
	case "rusage":
		err = rusage(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

// certificate makes a self-signed ed25519 certificate, as Ferry uses.
func certificate() (tls.Certificate, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

func tlsRecv(args []string) error {
	fs := flag.NewFlagSet("tls-recv", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	out := fs.String("out", "", "file to write")
	portFile := fs.String("port-file", "", "write the bound port here")
	_ = fs.Parse(args)
	cert, err := certificate()
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", *addr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		return err
	}
	defer ln.Close()
	if *portFile != "" {
		port := ln.Addr().(*net.TCPAddr).Port
		if err := os.WriteFile(*portFile+".tmp", []byte(fmt.Sprint(port)), 0o600); err != nil {
			return err
		}
		if err := os.Rename(*portFile+".tmp", *portFile); err != nil {
			return err
		}
	}
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, c); err != nil {
		return err
	}
	return f.Close()
}

// tcpRecv accepts one plain TCP connection on 127.0.0.1 and copies what
// it reads to stdout (the far end of a `tar | tar` baseline).
func tcpRecv(args []string) error {
	fs := flag.NewFlagSet("tcp-recv", flag.ExitOnError)
	portFile := fs.String("port-file", "", "write the bound port here")
	_ = fs.Parse(args)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if err := os.WriteFile(*portFile+".tmp", []byte(fmt.Sprint(port)), 0o600); err != nil {
		return err
	}
	if err := os.Rename(*portFile+".tmp", *portFile); err != nil {
		return err
	}
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = io.Copy(os.Stdout, c)
	return err
}

// tcpSend copies stdin to a plain TCP connection to -addr.
func tcpSend(args []string) error {
	fs := flag.NewFlagSet("tcp-send", flag.ExitOnError)
	addr := fs.String("addr", "", "receiver address")
	_ = fs.Parse(args)
	c, err := net.Dial("tcp", *addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.Copy(c, os.Stdin); err != nil {
		return err
	}
	return c.(*net.TCPConn).CloseWrite()
}

func tlsSend(args []string) error {
	fs := flag.NewFlagSet("tls-send", flag.ExitOnError)
	addr := fs.String("addr", "", "receiver address")
	in := fs.String("in", "", "file to send")
	_ = fs.Parse(args)
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := tls.Dial("tcp", *addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}) // baseline only: no identity check
	if err != nil {
		return err
	}
	if _, err := io.Copy(c, f); err != nil {
		return err
	}
	if err := c.CloseWrite(); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, c) // wait for the receiver to finish
	return c.Close()
}

// rusage runs a command and writes "wall_seconds max_rss_kib cpu_seconds
// start_unix_seconds" (user+sys of it and its waited-for children; the
// moment it was started) to -o once it exits. SIGTERM/SIGINT are passed on to the command.
func rusage(args []string) error {
	fs := flag.NewFlagSet("rusage", flag.ExitOnError)
	outPath := fs.String("o", "", "result file")
	_ = fs.Parse(args)
	rest := fs.Args()
	if len(rest) == 0 {
		return errors.New("rusage: no command")
	}
	cmd := exec.Command(rest[0], rest[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start).Seconds()
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	var cpu float64
	if ru != nil {
		rss = ru.Maxrss
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	if *outPath != "" {
		line := fmt.Sprintf("%.3f %d %.2f %.6f\n", wall, rss, cpu, float64(start.UnixNano())/1e9)
		if werr := os.WriteFile(*outPath, []byte(line), 0o600); werr != nil {
			return werr
		}
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	return err
}
