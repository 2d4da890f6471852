package transfer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/core/transfer"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name string
		in   string
		ok   bool
		why  string // substring of the error
	}{
		{"plain", "a.txt", true, ""},
		{"nested unicode", "dir/sub/ünïcode.txt", true, ""},
		{"space inside", "a b.txt", true, ""},
		{"hidden file", ".bashrc", true, ""},
		{"255-byte component", strings.Repeat("y", 255), true, ""},
		{"device-like but not", "console.txt", true, ""},
		{"com10 is not a device", "COM10", true, ""},
		{"part suffix inside", "a.ferry-part.txt", true, ""},

		{"empty", "", false, "empty"},
		{"parent escape", "../../etc/passwd", false, "relative reference"},
		{"absolute", "/etc/passwd", false, "absolute"},
		{"dotdot inside", "a/../../b", false, "relative reference"},
		{"dot component", "a/./b", false, "relative reference"},
		{"lone dot", ".", false, "relative reference"},
		{"backslash", "a\\b", false, "backslash"},
		{"drive letter", "C:\\x", false, "drive letter"},
		{"drive relative", "c:x", false, "drive letter"},
		{"unc", "\\\\srv\\x", false, "UNC"},
		{"double slash", "a//b", false, "is empty"},
		{"trailing slash", "a/", false, "is empty"},
		{"device with extension", "con.txt", false, "device"},
		{"device upper", "dir/PRN", false, "device"},
		{"device aux", "Aux.tar.gz", false, "device"},
		{"device nul", "nul", false, "device"},
		{"device com1", "com1.log", false, "device"},
		{"device lpt9", "LPT9", false, "device"},
		{"device space before dot", "CON .txt", false, "device"},
		{"device superscript", "COM¹", false, "device"},
		{"NUL byte", "x\x00", false, "control"},
		{"escape sequence", "x\x1b[31m", false, "control"},
		{"newline", "a\nb", false, "control"},
		{"DEL", "a\x7f", false, "control"},
		{"C1 control", "a\u0085b", false, "control"},
		{"invalid UTF-8", "a\xff.txt", false, "UTF-8"},
		{"256-byte component", long, false, "more than 255"},
		{"name too long", strings.Repeat("abcdefg/", 600) + "x", false, "bytes, more than 4096"},
		{"too deep", strings.Repeat("a/", 64) + "b", false, "components"},
		{"trailing dot", "a/b.", false, "dot or a space"},
		{"trailing space", "a /b", false, "dot or a space"},
		{"part suffix", "x.ferry-part", false, "part-file suffix"},
		{"part suffix any case", "dir/X.FERRY-PART", false, "part-file suffix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := transfer.SanitizeName(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("SanitizeName(%q): %v", tt.in, err)
				}
				if got != tt.in {
					t.Fatalf("SanitizeName(%q) = %q", tt.in, got)
				}
				return
			}
			if err == nil {
				t.Fatalf("SanitizeName(%q) = %q, want an error", tt.in, got)
			}
			if !errors.Is(err, transfer.ErrBadName) {
				t.Errorf("error %v does not wrap ErrBadName", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
		})
	}
}

func TestID(t *testing.T) {
	a, b := transfer.NewID(), transfer.NewID()
	if a == b {
		t.Fatal("two NewID calls gave the same ID")
	}
	for _, id := range []string{a, b} {
		if !transfer.ValidID(id) {
			t.Errorf("ValidID(%q) = false", id)
		}
	}
	for _, bad := range []string{"", "0123", strings.ToUpper(a), a + "0", a[:31] + "g", "../" + a[3:]} {
		if transfer.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}
