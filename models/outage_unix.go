//go:build unix

package models

import (
	"errors"
	"net"
	"syscall"
)

// idleConnEnded peeks at an idle connection's socket without blocking: a
// byte waiting (a message the server sent while it was idle) or the end of
// the stream means the server ended it. A connection that can't be peeked
// at (TLS) counts as alive.
func idleConnEnded(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ended := false
	var b [1]byte
	_ = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ended = n > 0 || (n == 0 && err == nil) || (err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK))
		return true // never wait
	})
	return ended
}
