//go:build unix

package pickle

import (
	"os"
	"syscall"
)

// mapFile maps size bytes of f read-only. The returned release func unmaps.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 || int64(int(size)) != size {
		return readAll(f, size)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		// Some file systems cannot be mapped: fall back to reading.
		return readAll(f, size)
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
