package transfer

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// Uploaded files hold identity numbers in the clear while an import reads
// them. They live in a directory of this process's own (mode 0700) under
// gongjiang-import in the system's temporary directory, removed as soon
// as they are read; SweepTemp removes what a killed process left.

var (
	tempOnce sync.Once
	tempDir  string
	tempErr  error
)

func tempRoot() string { return filepath.Join(os.TempDir(), "gongjiang-import") }

// CreateTemp creates a file (mode 0600) in this process's private
// temporary directory; the caller removes it.
func CreateTemp(pattern string) (*os.File, error) {
	tempOnce.Do(func() {
		tempDir = filepath.Join(tempRoot(), strconv.Itoa(os.Getpid()))
		if tempErr = os.MkdirAll(tempRoot(), 0o700); tempErr == nil {
			tempErr = os.MkdirAll(tempDir, 0o700)
		}
	})
	if tempErr != nil {
		return nil, tempErr
	}
	return os.CreateTemp(tempDir, pattern)
}

// SweepTemp removes the temporary directories of processes that no longer
// run (a node killed during an import), and returns how many.
func SweepTemp() int {
	entries, err := os.ReadDir(tempRoot())
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() || pid == os.Getpid() || running(pid) {
			continue
		}
		if os.RemoveAll(filepath.Join(tempRoot(), e.Name())) == nil {
			n++
		}
	}
	return n
}

// running reports whether a process with this id exists.
func running(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
