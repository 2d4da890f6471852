package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// FileStates says, for every file of the transfer, whether it is settled
// (done, or refused on its own: no bytes to come) and whether it has a
// journal (a part file that may hold bytes), without opening any part
// file: one read of the transfer's state folder. A protocol offered many
// files opens only those (sdk.StatefulSink).
func (t *Incoming) FileStates() (settled, journaled []bool, err error) {
	t.mu.Lock()
	n := len(t.rec.Files)
	settled = make([]bool, n)
	for i := range n {
		_, refused := t.rec.Refused[i]
		settled[i] = t.rec.Done[i] || refused
	}
	t.mu.Unlock()
	journaled = make([]bool, n)
	entries, err := fs.ReadDir(t.in.state.FS(), t.rec.ID)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("transfer %s: list journals: %w", t.rec.ID, err)
	}
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), ".journal")
		if !ok {
			continue
		}
		if i, err := strconv.Atoi(num); err == nil && i >= 0 && i < n {
			journaled[i] = true
		}
	}
	return settled, journaled, nil
}
