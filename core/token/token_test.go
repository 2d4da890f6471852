package token

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ferry-p2p/ferry/sdk"
)

func key(t *testing.T) (ed25519.PrivateKey, sdk.PeerID) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var id sdk.PeerID
	copy(id[:], pub)
	return priv, id
}

func TestManyFilesByDigest(t *testing.T) {
	now := time.Now()
	recv, _ := key(t)
	_, sender := key(t)
	offer := sdk.Offer{TransferID: "0123456789abcdef0123456789abcdef"}
	for i := range 200 {
		offer.Files = append(offer.Files, sdk.FileInfo{Name: fmt.Sprintf("f/%03d", i), Size: int64(i)})
	}
	tok, err := Issue(recv, sender, offer, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > 1024 {
		t.Errorf("token for 200 files is %d bytes; want it named by digest, under 1 KiB", len(tok))
	}
	if _, err := Check(recv, sender, offer, tok, now); err != nil {
		t.Fatalf("Check: %v", err)
	}
	less := offer
	less.Files = offer.Files[1:]
	if _, err := Check(recv, sender, less, tok, now); !errors.Is(err, ErrBadToken) || !strings.Contains(err.Error(), "not the list") {
		t.Fatalf("Check of another list = %v, want the list refused", err)
	}
}

func TestCheck(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	recv, _ := key(t)
	other, _ := key(t)
	_, sender := key(t)
	_, stranger := key(t)
	sum := sha256.Sum256([]byte("a"))
	offer := sdk.Offer{TransferID: "0123456789abcdef0123456789abcdef", Files: []sdk.FileInfo{
		{Name: "a.txt", Size: 1, SHA256: sum[:]},
		{Name: "dir/b.bin", Size: 1 << 20},
	}}
	good, err := Issue(recv, sender, offer, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := Issue(other, sender, offer, now, time.Hour)
	hmac, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"fid": offer.TransferID}).SignedString([]byte("k"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"fid": offer.TransferID}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	oneFile := offer
	oneFile.Files = offer.Files[1:]
	otherTransfer := offer
	otherTransfer.TransferID = "ffffffffffffffffffffffffffffffff"
	extraFile := offer
	extraFile.Files = append(append([]sdk.FileInfo(nil), offer.Files...), sdk.FileInfo{Name: "c", Size: 3})
	badHash := offer
	badHash.Files = []sdk.FileInfo{{Name: "a.txt", Size: 1, SHA256: make([]byte, 32)}}

	tests := []struct {
		name   string
		tok    string
		sender sdk.PeerID
		offer  sdk.Offer
		now    time.Time
		want   string // "" = accepted
	}{
		{"valid", good, sender, offer, now, ""},
		{"subset of the files", good, sender, oneFile, now, ""},
		{"missing", "", sender, offer, now, "no token presented"},
		{"garbage", "not.a.jwt", sender, offer, now, "bad transfer token"},
		{"huge", strings.Repeat("a", maxTokenLen+1), sender, offer, now, "over the"},
		{"expired", good, sender, offer, now.Add(2 * time.Hour), "expired at"},
		{"forged: signed by another key", forged, sender, offer, now, "signature does not verify"},
		{"hmac algorithm", hmac, sender, offer, now, "signing method HS256 is invalid"},
		{"alg none", none, sender, offer, now, "signing method none is invalid"},
		{"foreign: presented by another peer", good, stranger, offer, now, "issued to"},
		{"another transfer", good, sender, otherTransfer, now, "for transfer"},
		{"file not accepted", good, sender, extraFile, now, `file "c"`},
		{"file with another hash", good, sender, badHash, now, `file "a.txt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Check(recv, tt.sender, tt.offer, tt.tok, tt.now)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if c.TransferID != offer.TransferID || len(c.Files) != 2 {
					t.Errorf("claims = %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check accepted the token; want an error containing %q", tt.want)
			}
			if !errors.Is(err, ErrBadToken) {
				t.Errorf("error %v does not wrap ErrBadToken", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}
