package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/plugins/lan"
	"github.com/ferry-p2p/ferry/sdk"
)

// TestRevokedDevice: the key holder revokes the phone; the laptop, running,
// learns the new list from the holder's announcement and announces it in
// turn; the holder stops. A peer that has seen the list (from the laptop)
// refuses the phone as a receiver (its send fails with code revoked,
// nothing is sent) and as a sender (its offer is refused), across
// restarts, while the laptop, still in the account, is served.
func TestRevokedDevice(t *testing.T) {
	bin := binDir(t)
	_, desk, laptop, phone := newAccount(t, bin)
	peer := newNode(t, bin)
	idPeer, idPhone := peer.id(), phone.id()
	if out, errs, err := desk.run("account", "revoke", "phone"); err != nil || !strings.Contains(out, "revocation list v1") {
		t.Fatalf("revoke: %v\n%s%s", err, out, errs)
	}
	out, _, err := desk.run("account", "devices", "--json")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, d := range decodeLines[deviceView](t, out) {
		states[d.Name] = d.State
	}
	if states["phone"] != "revoked" || states["laptop"] != "active" || states["desk"] != "active" {
		t.Errorf("account devices = %v, want phone revoked, desk and laptop active", states)
	}

	// The holder announces the new list; the laptop learns it and
	// announces it too; the holder stops.
	recvLaptop := startReceiver(t, laptop, t.TempDir(), "--yes")
	recvDesk := startReceiver(t, desk, t.TempDir(), "--yes")
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(recvLaptop.stderr.String(), "announcing the newer revocation list"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the laptop did not announce the new list:\n%s", recvLaptop.stderr.String())
		}
	}
	if err := recvDesk.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = recvDesk.wait(20 * time.Second)
	recvPhone := startReceiver(t, phone, t.TempDir(), "--yes")
	if out, errs, err := peer.run("peers", "--wait", "3s"); err != nil || !strings.Contains(out, "phone (") || !strings.Contains(out, "[revoked]") {
		t.Fatalf("peers does not mark the phone revoked: %v\n%s%s", err, out, errs)
	}

	// As a receiver: refused before any offer.
	src := filepath.Join(t.TempDir(), "a.bin")
	writeRandom(t, src, 64<<10, 3)
	_, errs, err := peer.run("send", src, "--to", idPhone, "--json")
	if err == nil || !contains(errs, "revoked by its account") {
		t.Fatalf("send to the revoked phone: %v, want a refusal naming the revocation:\n%s", err, errs)
	}
	select {
	case e := <-recvPhone.events:
		if e.Kind == node.EventOffer {
			t.Errorf("the revoked phone was offered the transfer: %+v", e)
		}
	default:
	}

	// As a sender (its receiver stopped, so that the answer comes to the
	// sending process): its offer is refused by the peer, which has the
	// list from its own home now.
	if err := recvPhone.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = recvPhone.wait(20 * time.Second)
	dst := t.TempDir()
	recvPeer := startReceiver(t, peer, dst, "--yes")
	_, errs, err = phone.run("send", src, "--to", idPeer, "--json")
	if err == nil || !contains(errs, "revoked by its account") {
		t.Fatalf("send from the revoked phone: %v, want a refusal naming the revocation:\n%s", err, errs)
	}
	refused := recvPeer.waitEvent("the refusal of the phone's offer", 30*time.Second, func(e node.Event) bool { return e.Kind == node.EventRefused })
	if refused.Code != node.CodeRevoked {
		t.Errorf("refusal event code %q, want %q", refused.Code, node.CodeRevoked)
	}
	if got := treeHashes(t, dst); len(got) != 0 {
		t.Errorf("the peer took %v from the revoked phone", got)
	}
	// The laptop, still in the account, is served.
	if err := recvLaptop.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = recvLaptop.wait(20 * time.Second)
	if _, errs, err := laptop.run("send", src, "--to", idPeer, "--json"); err != nil {
		t.Fatalf("send from the laptop: %v\n%s", err, errs)
	}
}

// TestForgedAccountCredentials: LAN announcements carrying forged account
// credentials (garbage, a certificate whose signature is not the account's,
// the holder's real certificate presented by another device, an expired
// certificate) are each refused with one log line naming the reason, even
// when announced again, and the receiver keeps serving.
func TestForgedAccountCredentials(t *testing.T) {
	bin := binDir(t)
	desk, a, b := newNode(t, bin), newNode(t, bin), newNode(t, bin)
	if _, errs, err := desk.run("account", "create", "--name", "desk"); err != nil {
		t.Fatalf("account create: %v\n%s", err, errs)
	}
	idB := b.id()
	recv := startReceiver(t, b, t.TempDir(), "--yes")
	src := filepath.Join(t.TempDir(), "a.bin")
	writeRandom(t, src, 64<<10, 4)
	if _, errs, err := a.run("send", src, "--to", idB, "--json"); err != nil {
		t.Fatalf("first send: %v\n%s", err, errs)
	}

	raw, err := os.ReadFile(filepath.Join(desk.home, account.Dir, account.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	deskCert, err := account.ParseCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Each case comes from an attacker device of its own, announcing with
	// its own valid delegation (discovery coalesces a peer's events, so
	// one device's quick successive announcements may reach the core as
	// its last one only).
	type attacker struct {
		id  sdk.PeerID
		del *sdk.Delegation
	}
	newAttacker := func() attacker {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		id, _ := sdk.PeerIDFromKey(pub)
		del, err := sdk.NewDelegation(priv, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return attacker{id, del}
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	creds := func(c *account.Certificate) []byte {
		b, err := (&account.Credentials{Cert: c}).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type forgedCase struct {
		name  string
		from  attacker
		creds []byte
		why   string
	}
	var cases []forgedCase
	garbage := newAttacker()
	cases = append(cases, forgedCase{"garbage", garbage, []byte{3, 1, 0, 9, 1, 2, 3}, "malformed account data"})
	forger := newAttacker()
	forgedSig, _ := account.Issue(otherKey, forger.id, "mallory", time.Now(), time.Hour)
	forgedSig.Account = deskCert.Account // claims the desk's account
	cases = append(cases, forgedCase{"forged signature", forger, creds(forgedSig), "forged account signature"})
	cases = append(cases, forgedCase{"borrowed", newAttacker(), creds(deskCert), "certificate of another device"})
	late := newAttacker()
	expired, _ := account.Issue(otherKey, late.id, "old", time.Now().Add(-48*time.Hour), time.Hour)
	cases = append(cases, forgedCase{"expired", late, creds(expired), "device certificate expired on " + expired.Expires.UTC().Format(time.RFC3339)})

	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	bcast := &net.UDPAddr{IP: net.IPv4(127, 255, 255, 255), Port: lanPort}
	seq := uint64(time.Now().UnixMilli())
	announce := func(typ lan.Type, from attacker, c []byte) {
		t.Helper()
		seq++
		m := &lan.Message{Type: typ, User: lan.User{Name: "mallory", IP: "127.0.0.1"},
			Ferry: &lan.Header{V: 1, ID: from.id, Port: uint16(conn.LocalAddr().(*net.UDPAddr).Port), Seq: seq, Account: c}}
		if err := lan.Sign(m, from.del); err != nil {
			t.Fatal(err)
		}
		b, err := lan.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.WriteToUDP(b, bcast); err != nil {
			t.Fatal(err)
		}
	}
	const line = "refused the account credentials a peer announced"
	for i, c := range cases {
		announce(lan.TypeJoin, c.from, c.creds)
		for deadline := time.Now().Add(20 * time.Second); strings.Count(recv.stderr.String(), line) <= i; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("case %s: no log line within 20s:\n%s", c.name, recv.stderr.String())
			}
		}
		announce(lan.TypePing, c.from, c.creds) // the same again: no new line
	}
	// The receiver keeps serving, and the repeats logged nothing more.
	if _, errs, err := a.run("send", src, "--to", idB, "--json"); err != nil {
		t.Fatalf("send after the forged announcements: %v\n%s", err, errs)
	}
	logs := recv.stderr.String()
	var got []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, line) {
			got = append(got, l)
		}
	}
	if len(got) != len(cases) {
		t.Fatalf("%d log lines about refused credentials, want one per case (%d):\n%s", len(got), len(cases), strings.Join(got, "\n"))
	}
	for _, c := range cases {
		if !strings.Contains(logs, c.why) {
			t.Errorf("case %s: no log line says %q:\n%s", c.name, c.why, strings.Join(got, "\n"))
		}
	}
}
