package transfer

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzJournal feeds openJournal arbitrary journal files: it must not
// panic, and whatever it takes up must fit the file (committed ranges and
// block hash offsets within its size, a closing stamp only as the last
// record), and survive its own rewrite unchanged.
func FuzzJournal(f *testing.F) {
	const size = 1 << 20
	seed := appendFrame(nil, headerPayload(size, 0))
	seed = appendFrame(seed, commitPayload(0, 4096))
	seed = appendFrame(seed, hashPayload(4096, make([]byte, 108)))
	f.Add(seed)
	f.Add(appendFrame(seed, append([]byte{recStamp}, make([]byte, 32)...)))
	f.Add(appendFrame(appendFrame(seed, append([]byte{recStamp}, make([]byte, 32)...)), commitPayload(8192, 10)))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "0.journal"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		// Read only, as Inbox.Received reads a journal beside a
		// running receiver: a bare journal, no panic.
		if fh, err := root.Open("0.journal"); err == nil {
			bare := &journal{size: size}
			_, _ = bare.read(fh)
			_ = fh.Close()
		}
		j, _, err := openJournal(root, "0.journal", size, 0)
		if err != nil {
			return
		}
		check := func(j *journal) {
			t.Helper()
			for _, r := range j.ranges {
				if r[0] < 0 || r[1] > size || r[0] >= r[1] {
					t.Fatalf("range %v outside the file's %d bytes", r, size)
				}
			}
			for off := range j.states {
				if off < 0 || off > size {
					t.Fatalf("block hash at %d outside the file's %d bytes", off, size)
				}
			}
			if j.stamp != nil && (len(j.stamp) != 33 || j.stamp[0] != recStamp) {
				t.Fatalf("stamp %x", j.stamp)
			}
		}
		check(j)
		ranges, states, stamp := j.ranges.Clone(), len(j.states), string(j.stamp)
		_ = j.close()
		j2, existed, err := openJournal(root, "0.journal", size, 0)
		if err != nil || !existed {
			t.Fatalf("reopening the rewritten journal: existed %v, %v", existed, err)
		}
		defer j2.close()
		check(j2)
		if len(j2.ranges) != len(ranges) || len(j2.states) != states || string(j2.stamp) != stamp {
			t.Fatalf("rewrite changed the journal: %v %d %x, then %v %d %x", ranges, states, stamp, j2.ranges, len(j2.states), j2.stamp)
		}
	})
}
