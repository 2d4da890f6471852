package transfer

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// hashCacheMax bounds the entries a HashCache keeps; the least recently
// used go first.
const hashCacheMax = 8192

// HashCache remembers the SHA-256 of files this device has read whole, so
// that offering an unchanged file again (a new send, or a resume after a
// restart) needs no hashing pass. A file is known by its device and inode,
// and is unchanged while its size, modification time and change time are
// those recorded: the change time cannot be set back by a user, so a file
// rewritten with its old modification time restored still misses.
//
// It is one JSON file, rewritten atomically by a store at most every
// cacheSaveEvery, and by Flush, which a send calls when it ends: storing
// the hashes of a folder's files one by one used to rewrite the whole file
// for each (a send of n files did O(n²) work: 55% of the sender's CPU at
// 3,000 files). Several processes may share it (the last writer wins, and
// a lost entry costs only a hashing pass). It is safe for concurrent use.
type HashCache struct {
	path string

	mu      sync.Mutex
	loaded  bool
	entries map[string]cacheEntry
	dirty   bool      // entries not yet in the file
	saved   time.Time // when the file was last written
}

// cacheSaveEvery is how often stores rewrite the cache file at most.
const cacheSaveEvery = 2 * time.Second

type cacheEntry struct {
	Size   int64  `json:"size"`
	MTime  int64  `json:"mtime_ns"`
	CTime  int64  `json:"ctime_ns"`
	SHA256 string `json:"sha256,omitempty"`
	Used   int64  `json:"used,omitempty"`
	// A checkpoint of a file not read whole yet (in its own file): the
	// SHA-256 state of its first CheckOff bytes (hex of crypto/sha256's
	// MarshalBinary).
	CheckOff   int64  `json:"check_off,omitempty"`
	CheckState string `json:"check_state,omitempty"`
}

func (e cacheEntry) sameFile(o cacheEntry) bool {
	return e.Size == o.Size && e.MTime == o.MTime && e.CTime == o.CTime
}

// OpenHashCache returns the cache kept in the file at path (created on the
// first store). A missing or unreadable file is an empty cache.
func OpenHashCache(path string) *HashCache { return &HashCache{path: path} }

// cacheKey returns the key and the entry of st, without its hash; ok is
// false when st has no device and inode (not a local file system).
func cacheKey(st os.FileInfo) (string, cacheEntry, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return "", cacheEntry{}, false
	}
	e := cacheEntry{Size: st.Size(), MTime: st.ModTime().UnixNano(), CTime: sys.Ctim.Nano()}
	return fmt.Sprintf("%d:%d", sys.Dev, sys.Ino), e, true
}

func (c *HashCache) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	c.entries = map[string]cacheEntry{}
	data, err := os.ReadFile(c.path)
	if err != nil {
		return
	}
	_ = json.Unmarshal(data, &c.entries) // a damaged cache is an empty one
	if c.entries == nil {
		c.entries = map[string]cacheEntry{}
	}
}

// Lookup returns the SHA-256 recorded for the file st describes, or nil.
func (c *HashCache) Lookup(st os.FileInfo) []byte {
	if c == nil || st == nil {
		return nil
	}
	key, want, ok := cacheKey(st)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	e, ok := c.entries[key]
	if !ok || !e.sameFile(want) {
		return nil
	}
	sum, err := hex.DecodeString(e.SHA256)
	if err != nil || len(sum) != 32 {
		return nil
	}
	return sum
}

// Store records sum as the SHA-256 of the file st describes.
func (c *HashCache) Store(st os.FileInfo, sum []byte) error {
	if c == nil || st == nil || len(sum) != 32 {
		return nil
	}
	key, e, ok := cacheKey(st)
	if !ok {
		return nil
	}
	e.SHA256, e.Used = hex.EncodeToString(sum), time.Now().Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	c.entries[key] = e
	c.dirty = true
	var err error
	if time.Since(c.saved) >= cacheSaveEvery {
		err = c.saveLocked()
	}
	_ = os.Remove(c.checkpointPath(key)) // the whole hash makes it useless
	return err
}

// Flush writes the entries stored since the file was last written.
func (c *HashCache) Flush() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	return c.saveLocked()
}

// StoreCheckpoint records the SHA-256 state of the first off bytes of the
// file st describes, read as it was sent but not yet whole: a transfer that
// resumes goes on hashing from there (see [Manifest.HashMissing]). A send
// stores one every 16 MiB, so each file's checkpoint is a small file of its
// own beside the cache, not a rewrite of the whole cache.
func (c *HashCache) StoreCheckpoint(st os.FileInfo, off int64, state []byte) error {
	if c == nil || st == nil || len(state) == 0 {
		return nil
	}
	key, e, ok := cacheKey(st)
	if !ok {
		return nil
	}
	e.CheckOff, e.CheckState = off, hex.EncodeToString(state)
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	return writeAtomic(c.checkpointPath(key), data)
}

// Checkpoint returns the checkpoint recorded for the file st describes:
// the SHA-256 state of its first off bytes, or a nil state.
func (c *HashCache) Checkpoint(st os.FileInfo) (off int64, state []byte) {
	if c == nil || st == nil {
		return 0, nil
	}
	key, want, ok := cacheKey(st)
	if !ok {
		return 0, nil
	}
	data, err := os.ReadFile(c.checkpointPath(key))
	if err != nil {
		return 0, nil
	}
	var e cacheEntry
	if json.Unmarshal(data, &e) != nil || !e.sameFile(want) || e.CheckState == "" {
		return 0, nil
	}
	b, err := hex.DecodeString(e.CheckState)
	if err != nil {
		return 0, nil
	}
	return e.CheckOff, b
}

// checkpointPath is where the checkpoint of the file with key is kept.
func (c *HashCache) checkpointPath(key string) string {
	return filepath.Join(c.path+".d", strings.ReplaceAll(key, ":", "-")+".json")
}

// saveLocked trims the cache to hashCacheMax entries and rewrites its file.
// c.mu is held.
func (c *HashCache) saveLocked() error {
	if len(c.entries) > hashCacheMax {
		keys := make([]string, 0, len(c.entries))
		for k := range c.entries {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return int(c.entries[a].Used - c.entries[b].Used) })
		for _, k := range keys[:len(keys)-hashCacheMax] {
			delete(c.entries, k)
		}
	}
	data, err := json.Marshal(c.entries)
	if err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	if err := writeAtomic(c.path, data); err != nil {
		return err
	}
	c.dirty, c.saved = false, time.Now()
	return nil
}

// writeAtomic replaces the file at path with data (a temporary file renamed
// over it), creating its folder.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".hashcache-*")
	if err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("hash cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("hash cache: %w", err)
	}
	return nil
}
