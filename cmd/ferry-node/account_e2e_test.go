package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// accountOf returns the account ID `ferry account show --json` prints.
func (n *testPeer) accountOf() string {
	n.t.Helper()
	out, errs, err := n.run("account", "show", "--json")
	if err != nil {
		n.t.Fatalf("account show: %v\n%s", err, errs)
	}
	var v struct {
		Account string `json:"account"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || !strings.HasPrefix(v.Account, "acct-") {
		n.t.Fatalf("account show --json = %q: %v", out, err)
	}
	return v.Account
}

// joinByHand certifies dev on the key holder and installs the
// certificate on dev: the manual form of link and join.
func joinByHand(t *testing.T, holder, dev *testPeer, name string) {
	t.Helper()
	cert, errs, err := holder.run("account", "certify", dev.id(), "--name", name)
	if err != nil {
		t.Fatalf("account certify: %v\n%s", err, errs)
	}
	if out, errs, err := dev.run("account", "install", strings.TrimSpace(cert)); err != nil {
		t.Fatalf("account install: %v\n%s%s", err, out, errs)
	}
}

// newAccount makes three device homes of one account: desk (the key
// holder), laptop and phone.
func newAccount(t *testing.T, bin string) (acct string, desk, laptop, phone *testPeer) {
	t.Helper()
	desk, laptop, phone = newNode(t, bin), newNode(t, bin), newNode(t, bin)
	if out, errs, err := desk.run("account", "create", "--name", "desk"); err != nil {
		t.Fatalf("account create: %v\n%s%s", err, out, errs)
	}
	joinByHand(t, desk, laptop, "laptop")
	joinByHand(t, desk, phone, "phone")
	return desk.accountOf(), desk, laptop, phone
}

// TestSendToAccount: three device homes of one account receive; a fourth
// device sends to the account ID. The phone refuses, desk and laptop
// accept and verify; the sender's progress follows the most advanced
// device, and its summary lists each device's outcome; it exits 0. The
// phone auto-accepts its own account: the laptop's send is taken without
// a question.
func TestSendToAccount(t *testing.T) {
	bin := binDir(t)
	acct, desk, laptop, phone := newAccount(t, bin)
	if laptop.accountOf() != acct || phone.accountOf() != acct {
		t.Fatal("the joined devices are not in the account")
	}
	sender := newNode(t, bin)
	src := filepath.Join(t.TempDir(), "notes.bin")
	const size = 24 << 20
	writeRandom(t, src, size, 15)
	dstDesk, dstLaptop, dstPhone := t.TempDir(), t.TempDir(), t.TempDir()
	phone.env = append(phone.env, "FERRY_TRANSFER_AUTO_ACCEPT="+acct)
	startReceiver(t, desk, dstDesk, "--yes")
	recvLaptop := startReceiver(t, laptop, dstLaptop, "--yes")
	in, typed := io.Pipe()
	recvPhone := phone.start(in, "receive", "--json", "--dir", dstPhone)
	t.Cleanup(func() { _ = typed.Close() })

	// ferry peers groups the three under their account.
	out, errs, err := sender.run("peers", "--wait", "3s")
	if err != nil {
		t.Fatalf("peers: %v\n%s", err, errs)
	}
	if !contains(out, "account "+acct+" (3 device(s))", "desk", "laptop", "phone") {
		t.Errorf("ferry peers does not group the devices under %s:\n%s", acct, out)
	}
	// ferry peers --json names each device's account.
	out, errs, err = sender.run("peers", "--wait", "3s", "--json")
	if err != nil {
		t.Fatalf("peers --json: %v\n%s", err, errs)
	}
	named := 0
	for _, p := range decodeLines[peerView](t, out) {
		if p.Account == acct {
			named++
		}
	}
	if named != 3 {
		t.Errorf("ferry peers --json names %s for %d devices, want 3:\n%s", acct, named, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	send := sender.cmd(ctx, "send", src, "--to", acct, "--retry-for", "10s")
	sendOut, sendErr := &syncBuffer{}, &syncBuffer{}
	send.Stdout, send.Stderr = sendOut, sendErr
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(recvPhone.stderr.String(), promptChoices) {
		if time.Now().After(deadline) {
			t.Fatalf("the phone was not asked:\n%s", recvPhone.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(typed, "n\n"); err != nil {
		t.Fatal(err)
	}
	if err := send.Wait(); err != nil {
		t.Fatalf("send to the account: %v\nstdout:\n%s\nstderr:\n%s", err, sendOut, sendErr)
	}
	text := sendOut.String()
	short := acct[:len("acct-")+7]
	if !contains(text, "account "+short+": 2 of 3 device(s) verified every file", "desk (", "laptop (", "phone (", ": refused: ") {
		t.Errorf("the summary does not list each device's outcome:\n%s", text)
	}
	if !contains(text, "progress "+short+": 100%", "most advanced: ") {
		t.Errorf("the progress does not follow the most advanced device:\n%s", text)
	}
	if strings.Count(text, "progress "+short+": 100%") != 1 {
		t.Errorf("the account's progress reached 100%% more than once (one line per device?):\n%s", text)
	}
	want := treeHashes(t, filepath.Dir(src))["notes.bin"]
	for name, dir := range map[string]string{"desk": dstDesk, "laptop": dstLaptop} {
		if got := treeHashes(t, dir); got["notes.bin"] != want || len(got) != 1 {
			t.Errorf("%s holds %v, want notes.bin whole", name, got)
		}
	}
	if got := treeHashes(t, dstPhone); len(got) != 0 {
		t.Errorf("the phone refused and holds %v", got)
	}

	// The laptop (its receiver stopped) sends to the phone, which accepts
	// its own account's devices without asking.
	if err := recvLaptop.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = recvLaptop.wait(20 * time.Second)
	prompts := strings.Count(recvPhone.stderr.String(), promptChoices)
	if _, errs, err := laptop.run("send", src, "--to", phone.id(), "--json"); err != nil {
		t.Fatalf("laptop to phone: %v\n%s", err, errs)
	}
	if got := treeHashes(t, dstPhone); got["notes.bin"] != want {
		t.Errorf("the phone holds %v after the laptop's send, want notes.bin", got)
	}
	if n := strings.Count(recvPhone.stderr.String(), promptChoices); n != prompts {
		t.Errorf("the phone asked about its own account's offer (%d prompts, want %d)", n, prompts)
	}
}

// TestSendToAccountOverDHT: no LAN (the lan plugin off); the key holder's
// receiver publishes the account record on the DHT, and a sender that
// knows only the account ID finds both devices of the account through it
// and sends to each.
func TestSendToAccountOverDHT(t *testing.T) {
	bin := binDir(t)
	boot := startBootstrap(t, bin)
	root, _ := filepath.Abs("../..")
	env := []string{"FERRY_CONFIG=" + filepath.Join(root, "configs", "dht-loopback.yaml"), "FERRY_DHT_BOOTSTRAP=" + boot}
	desk, laptop, sender := newNode(t, bin, env...), newNode(t, bin, env...), newNode(t, bin, env...)
	if _, errs, err := desk.run("account", "create", "--name", "desk"); err != nil {
		t.Fatalf("account create: %v\n%s", err, errs)
	}
	joinByHand(t, desk, laptop, "laptop")
	acct := desk.accountOf()
	dstDesk, dstLaptop := t.TempDir(), t.TempDir()
	recvDesk := startReceiver(t, desk, dstDesk, "--yes", "--log-level", "debug")
	startReceiver(t, laptop, dstLaptop, "--yes")
	// The key holder publishes the account record once it runs; a send
	// before that finds the devices by their own records only.
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(recvDesk.stderr.String(), "published the account record"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the key holder did not publish the account record within 60s:\n%s", recvDesk.stderr.String())
		}
	}
	src := filepath.Join(t.TempDir(), "dht.bin")
	writeRandom(t, src, 2<<20, 21)
	out, errs, err := sender.run("send", src, "--to", acct, "--find-timeout", "30s", "--log-level", "debug")
	if err != nil {
		t.Fatalf("send to the account over the DHT: %v\n%s\n%s", err, out, errs)
	}
	if !contains(out, "2 of 2 device(s) verified every file", "desk (", "laptop (") {
		t.Errorf("summary:\n%s", out)
	}
	// The account record was found on the DHT (the devices may also have
	// been heard of from their own records first).
	if !contains(errs, "found the account record", "devices=2") {
		t.Errorf("the sender did not find the account record on the DHT:\n%s", errs)
	}
	want := treeHashes(t, filepath.Dir(src))["dht.bin"]
	for name, dir := range map[string]string{"desk": dstDesk, "laptop": dstLaptop} {
		if got := treeHashes(t, dir); got["dht.bin"] != want {
			t.Errorf("%s holds %v, want dht.bin", name, got)
		}
	}
	// With --json, each device's events name the account.
	src2 := filepath.Join(t.TempDir(), "dht2.bin")
	writeRandom(t, src2, 256<<10, 22)
	out, errs, err = sender.run("send", src2, "--to", acct, "--find-timeout", "30s", "--json")
	if err != nil {
		t.Fatalf("send --json: %v\n%s", err, errs)
	}
	done := map[string]bool{}
	for _, e := range decodeLines[node.Event](t, out) {
		if e.Kind == node.EventDone {
			if e.Account != acct {
				t.Errorf("done event of %s names account %q, want %s", e.PeerName, e.Account, acct)
			}
			done[e.Peer] = true
		}
	}
	if len(done) != 2 {
		t.Errorf("--json has done events of %d devices, want 2:\n%s", len(done), out)
	}
}

// TestAccountDeviceLate: a device of the account that comes online while
// the send to the account is still under way (the desk has not answered
// yet) is offered the transfer too, and both verify.
func TestAccountDeviceLate(t *testing.T) {
	bin := binDir(t)
	desk, laptop, sender := newNode(t, bin), newNode(t, bin), newNode(t, bin)
	if _, errs, err := desk.run("account", "create", "--name", "desk"); err != nil {
		t.Fatalf("account create: %v\n%s", err, errs)
	}
	joinByHand(t, desk, laptop, "laptop")
	acct := desk.accountOf()
	dstDesk, dstLaptop := t.TempDir(), t.TempDir()
	in, typed := io.Pipe()
	recvDesk := desk.start(in, "receive", "--json", "--dir", dstDesk)
	t.Cleanup(func() { _ = typed.Close() })
	src := filepath.Join(t.TempDir(), "late.bin")
	writeRandom(t, src, 1<<20, 31)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	send := sender.cmd(ctx, "send", src, "--to", acct, "--retry-for", "60s")
	sendOut, sendErr := &syncBuffer{}, &syncBuffer{}
	send.Stdout, send.Stderr = sendOut, sendErr
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(recvDesk.stderr.String(), promptChoices); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the desk was not asked:\n%s\nsender:\n%s", recvDesk.stderr.String(), sendErr)
		}
	}
	// ferry status lists the desk's sub-transfer: one line per device.
	out, errs, err := sender.run("status", "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, errs)
	}
	var lines []statusLine
	for _, l := range decodeLines[statusLine](t, out) {
		if l.Direction == "send" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || lines[0].Peer != desk.id() || lines[0].Account != acct {
		t.Errorf("status --json lists %v, want the desk's transfer alone, of account %s:\n%s", lines, acct, out)
	}
	// The laptop comes online while the desk still thinks it over.
	recvLaptop := startReceiver(t, laptop, dstLaptop, "--yes")
	recvLaptop.waitEvent("the laptop's transfer done", 60*time.Second, func(e node.Event) bool { return e.Kind == node.EventDone })
	if _, err := io.WriteString(typed, "y\n"); err != nil {
		t.Fatal(err)
	}
	if err := send.Wait(); err != nil {
		t.Fatalf("send: %v\n%s\n%s", err, sendOut, sendErr)
	}
	if !contains(sendOut.String(), "2 of 2 device(s) verified every file") || !contains(sendErr.String(), "came into sight") {
		t.Errorf("the late laptop was not offered the transfer:\n%s\n%s", sendOut, sendErr)
	}
	want := treeHashes(t, filepath.Dir(src))["late.bin"]
	for name, dir := range map[string]string{"desk": dstDesk, "laptop": dstLaptop} {
		if got := treeHashes(t, dir); got["late.bin"] != want {
			t.Errorf("%s holds %v", name, got)
		}
	}
}
