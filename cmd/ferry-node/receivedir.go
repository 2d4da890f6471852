package main

import (
	"fmt"
	"os"

	"github.com/ferry-p2p/ferry/core/config"
)

// receiveDir returns the folder `ferry receive` writes into: the --dir
// flag, else transfer.dir, else the current folder, where a user who just
// typed the command looks (croc does the same). A long-running node, once
// there is one, is to default to the user's Downloads folder instead.
func receiveDir(flag string, cfg *config.Config) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if cfg.Transfer.Dir != "" {
		return cfg.Transfer.Dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("receive into the current folder: %w (give one with --dir)", err)
	}
	return wd, nil
}
