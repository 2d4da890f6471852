package transfer

import "syscall"

// componentMax returns the longest name component the file system holding
// dir takes (its NAME_MAX), at most MaxComponentLen.
func componentMax(dir string) int {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Namelen <= 0 {
		return MaxComponentLen
	}
	return int(min(st.Namelen, MaxComponentLen))
}
