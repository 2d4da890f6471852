package identity_test

import (
	"bufio"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

const b32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

type vector struct {
	key     []byte
	printed string
}

// readVectors reads testdata/peerid-vectors.txt. The file was generated once
// and checked against an independent implementation; it must never be
// regenerated, because a change in it is a change of the peer ID format.
func readVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open("testdata/peerid-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			t.Fatalf("vectors line %d: %d fields, want 2", line, len(fields))
		}
		key, err := hex.DecodeString(fields[0])
		if err != nil {
			t.Fatalf("vectors line %d: %v", line, err)
		}
		vs = append(vs, vector{key, fields[1]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 10 {
		t.Fatalf("only %d vectors", len(vs))
	}
	return vs
}

func TestPeerIDVectors(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.printed, func(t *testing.T) {
			id, err := sdk.PeerIDFromKey(v.key)
			if err != nil {
				t.Fatal(err)
			}
			if got := id.String(); got != v.printed {
				t.Errorf("String() = %s, want %s", got, v.printed)
			}
			parsed, err := sdk.ParsePeerID(v.printed)
			if err != nil {
				t.Fatalf("ParsePeerID: %v", err)
			}
			if parsed != id {
				t.Errorf("ParsePeerID = %x, want %x", parsed[:], v.key)
			}
			text, err := id.MarshalText()
			if err != nil || string(text) != v.printed {
				t.Errorf("MarshalText = %q, %v; want %q", text, err, v.printed)
			}
		})
	}
}

// typoForm replaces O, I and B by the typos 0, 1 and 8.
var typoForm = strings.NewReplacer("O", "0", "I", "1", "B", "8")

func TestParsePeerIDForgiving(t *testing.T) {
	vs := readVectors(t)
	// A vector that has every letter the typos stand for.
	var v vector
	for _, c := range vs {
		if strings.Contains(c.printed, "O") && strings.Contains(c.printed, "I") && strings.Contains(c.printed, "B") {
			v = c
			break
		}
	}
	if v.key == nil {
		t.Fatal("no vector contains O, I and B")
	}
	want, err := sdk.PeerIDFromKey(v.key)
	if err != nil {
		t.Fatal(err)
	}
	p := v.printed
	bare := strings.ReplaceAll(p, "-", "")
	tests := []struct {
		name, in string
	}{
		{"canonical", p},
		{"lowercase", strings.ToLower(p)},
		{"mixed case", strings.ToUpper(p[:20]) + strings.ToLower(p[20:])},
		{"no dashes", bare},
		{"lowercase no dashes", strings.ToLower(bare)},
		{"spaces", strings.ReplaceAll(p, "-", " ")},
		{"tabs", strings.ReplaceAll(p, "-", "\t")},
		{"surrounding spaces", "  " + p + " "},
		{"groups of 4", regroup(bare, 4, " ")},
		{"typos 0 1 8", typoForm.Replace(p)},
		{"lowercase typos", strings.ToLower(typoForm.Replace(bare))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sdk.ParsePeerID(tt.in)
			if err != nil {
				t.Fatalf("ParsePeerID(%q): %v", tt.in, err)
			}
			if got != want {
				t.Errorf("ParsePeerID(%q) = %v, want %v", tt.in, got, want)
			}
		})
	}
}

func regroup(s string, n int, sep string) string {
	var parts []string
	for len(s) > n {
		parts = append(parts, s[:n])
		s = s[n:]
	}
	return strings.Join(append(parts, s), sep)
}

func TestParsePeerIDErrors(t *testing.T) {
	p := readVectors(t)[3].printed
	bare := strings.ReplaceAll(p, "-", "")
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"dashes only", "-------"},
		{"one char short", bare[:55]},
		{"one char long", bare + "A"},
		{"group missing", strings.Join(strings.Split(p, "-")[:7], "-")},
		{"without check characters", bare[:13] + bare[14:27] + bare[28:41] + bare[42:55]},
		{"not base32 9", "9" + bare[1:]},
		{"punctuation", "!" + bare[1:]},
		{"non-ASCII", "É" + bare[1:]},
		{"zero id", strings.Repeat("A", 56)},
		{"first check changed", bare[:13] + other(bare[13]) + bare[14:]},
		{"last check changed", bare[:55] + other(bare[55])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sdk.ParsePeerID(tt.in)
			if !errors.Is(err, sdk.ErrInvalidPeerID) {
				t.Fatalf("ParsePeerID(%q) = %v, %v; want ErrInvalidPeerID", tt.in, got, err)
			}
			if !strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q does not quote the input", err)
			}
		})
	}
}

func other(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestParsePeerIDSingleTypo changes every character of every vector to every
// other base32 character: each change must be caught.
func TestParsePeerIDSingleTypo(t *testing.T) {
	for _, v := range readVectors(t) {
		bare := []byte(strings.ReplaceAll(v.printed, "-", ""))
		for i := range bare {
			orig := bare[i]
			for _, c := range []byte(b32Alphabet) {
				if c == orig {
					continue
				}
				bare[i] = c
				if id, err := sdk.ParsePeerID(string(bare)); !errors.Is(err, sdk.ErrInvalidPeerID) {
					t.Errorf("%s with position %d changed to %c: parsed as %v, err %v", v.printed, i, c, id, err)
				}
			}
			bare[i] = orig
		}
	}
}

// TestParsePeerIDAdjacentSwap swaps every pair of adjacent characters within
// each checked group (13 characters and their check character): each swap
// must be caught, except a swap of A and 7, which Luhn mod 32 cannot see
// (see the package doc).
func TestParsePeerIDAdjacentSwap(t *testing.T) {
	ids := []string{}
	for _, v := range readVectors(t) {
		ids = append(ids, v.printed)
	}
	ids = append(ids, withA7(t).String())
	sawBlindSpot := false
	for _, p := range ids {
		bare := []byte(strings.ReplaceAll(p, "-", ""))
		for g := range 4 {
			for i := g * 14; i < g*14+13; i++ {
				a, b := bare[i], bare[i+1]
				if a == b {
					continue
				}
				bare[i], bare[i+1] = b, a
				_, err := sdk.ParsePeerID(string(bare))
				bare[i], bare[i+1] = a, b
				if blindSpot := a == 'A' && b == '7' || a == '7' && b == 'A'; blindSpot {
					sawBlindSpot = true
					if err == nil {
						continue
					}
				}
				if !errors.Is(err, sdk.ErrInvalidPeerID) {
					t.Errorf("%s with positions %d and %d swapped: err = %v, want ErrInvalidPeerID", p, i, i+1, err)
				}
			}
		}
	}
	if !sawBlindSpot {
		t.Error("no A/7 pair was tried")
	}
}

// withA7 returns a peer ID whose first group starts with "A7", so that its
// swap is tried.
func withA7(t *testing.T) sdk.PeerID {
	t.Helper()
	raw := []byte(strings.Repeat("Q", 52))
	raw[0], raw[1] = 'A', '7'
	raw[51] = 'A' // the last character carries only 1 bit of key
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	id, err := sdk.PeerIDFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
