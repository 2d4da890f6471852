package main

import (
	"encoding/json"
	"io"
)

// jsonLines prints items as JSON lines, one object per line, as every
// --json output is: a program reads each line as it comes, and an empty
// list prints nothing.
func jsonLines[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}
