package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-p2p/ferry/sdk"
)

// maxCardSize bounds a card file; real ones are a few hundred bytes.
const maxCardSize = 64 << 10

// card is what `ferry debug listen` writes for `ferry debug dial`: the
// listener's peer ID and its transport description. It stands in for the
// signaling exchange the core will do.
type card struct {
	// Peer is the listener's peer ID.
	Peer sdk.PeerID `json:"peer"`
	// Transport is the listener's transport instance name.
	Transport string `json:"transport"`
	// Session is the listener's prepared session (informational: the
	// dialer prepares its own).
	Session string `json:"session"`
	// Description is the listener's local transport description.
	Description cardDescription `json:"description"`
}

// cardDescription is an [sdk.Description] in JSON; Data is base64.
type cardDescription struct {
	Transport string `json:"transport"`
	Data      []byte `json:"data"`
}

func (d cardDescription) sdk() sdk.Description {
	return sdk.Description{Transport: d.Transport, Data: d.Data}
}

// writeCard writes c to path atomically: a temporary file in the same folder,
// renamed into place, so that a reader polling for path never sees half a
// card.
func writeCard(path string, c card) (err error) {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode card: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	return nil
}

// readCard reads and checks a card written by writeCard.
func readCard(path string) (card, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return card{}, fmt.Errorf("read card: %w", err)
	}
	if len(data) > maxCardSize {
		return card{}, fmt.Errorf("read card %s: larger than %d bytes", path, maxCardSize)
	}
	var c card
	if err := json.Unmarshal(data, &c); err != nil {
		return card{}, fmt.Errorf("read card %s: %w", path, err)
	}
	switch {
	case c.Peer.IsZero():
		return card{}, fmt.Errorf("read card %s: no peer", path)
	case c.Transport == "":
		return card{}, fmt.Errorf("read card %s: no transport", path)
	case c.Description.Transport == "" || len(c.Description.Data) == 0:
		return card{}, fmt.Errorf("read card %s: %w", path, errors.Join(sdk.ErrInvalidDescription, errors.New("empty description")))
	}
	return c, nil
}
