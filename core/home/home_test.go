package home

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  []string
		want string
	}{
		{[]string{"FERRY_HOME=/srv/ferry"}, "/srv/ferry"},
		{[]string{"HOME=/home/ann", "FERRY_HOME=~/f"}, "/home/ann/f"},
		{[]string{"FERRY_HOME=rel"}, filepath.Join(wd, "rel")},
		{[]string{"HOME=/home/ann"}, "/home/ann/.config/ferry"},
		{[]string{"HOME=/home/ann", "FERRY_HOME=/a", "FERRY_HOME=/b"}, "/b"}, // a later entry wins
	}
	for _, tt := range tests {
		if got, err := Resolve(tt.env); err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}
