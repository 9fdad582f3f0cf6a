package sqlstore_test

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// freezingProxy forwards TCP connections from 127.0.0.1 to a database
// server, and can freeze every session it holds at once: each stays open
// and silent in both directions, as with a hung host, while new
// connections are forwarded as before. To a connection pool behind one
// address, that is a failover from a frozen server to a fresh one, with
// no second server and without stalling the shared one: only the proxy's
// own sessions freeze.
type freezingProxy struct {
	upstream string
	ln       net.Listener
	closed   chan struct{} // closed by Close: frozen sessions let go
	wg       sync.WaitGroup

	mu       sync.Mutex
	sessions []*proxySession
	hangNew  bool // new connections are held silent too, with no upstream

	accepted atomic.Int64 // connections accepted, ever
	released atomic.Int64 // frozen sessions the client has closed
}

// proxySession is one client connection and, unless it was accepted while
// new connections hang, its connection to the server.
type proxySession struct {
	client, server net.Conn
	frozen         atomic.Bool
}

// startProxy listens on 127.0.0.1:0 and forwards to upstream until the test
// ends, when it closes every session it holds.
func startProxy(t *testing.T, upstream string) *freezingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &freezingProxy{upstream: upstream, ln: ln, closed: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the address to give the client instead of the server's.
func (p *freezingProxy) Addr() string { return p.ln.Addr().String() }

// Freeze freezes every session the proxy holds. With hangNew, connections
// accepted from now on are held silent too, as a hung host's are, until
// Failover; otherwise they are forwarded as before.
func (p *freezingProxy) Freeze(hangNew bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.sessions {
		s.frozen.Store(true)
	}
	p.hangNew = hangNew
}

// Failover forwards new connections again, to the same server: the
// sessions held so far stay frozen.
func (p *freezingProxy) Failover() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hangNew = false
}

// Close stops accepting and closes every session, frozen or not. It is
// safe to call twice.
func (p *freezingProxy) Close() {
	p.mu.Lock()
	select {
	case <-p.closed:
		p.mu.Unlock()
		return
	default:
	}
	close(p.closed)
	_ = p.ln.Close()
	for _, s := range p.sessions {
		_ = s.client.Close()
		if s.server != nil {
			_ = s.server.Close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *freezingProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		p.wg.Add(1)
		go p.serve(client)
	}
}

// serve forwards one connection, or holds it silent if new connections
// hang.
func (p *freezingProxy) serve(client net.Conn) {
	defer p.wg.Done()
	s := &proxySession{client: client}
	p.mu.Lock()
	hang := p.hangNew
	if !hang {
		p.mu.Unlock()
		server, err := net.Dial("tcp", p.upstream)
		p.mu.Lock()
		if err != nil {
			p.mu.Unlock()
			_ = client.Close()
			return
		}
		s.server = server
	}
	select {
	case <-p.closed:
		p.mu.Unlock()
		_ = client.Close()
		if s.server != nil {
			_ = s.server.Close()
		}
		return
	default:
	}
	p.sessions = append(p.sessions, s)
	p.mu.Unlock()
	if hang {
		s.frozen.Store(true)
		<-p.closed
		return
	}
	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); p.copy(s, s.server, s.client) }()
	go func() { defer both.Done(); p.copy(s, s.client, s.server) }()
	both.Wait()
}

// copy forwards src to dst until either ends, then closes both; once the
// session is frozen, it forwards nothing more, and lets neither side see
// the other's end, until the proxy closes. It counts the frozen sessions
// whose client closes its end.
func (p *freezingProxy) copy(s *proxySession, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if s.frozen.Load() {
			if src == s.client {
				// Forward nothing, but see when the client lets go.
				for err == nil {
					_, err = src.Read(buf)
				}
				if !errors.Is(err, net.ErrClosed) {
					p.released.Add(1)
				}
			}
			<-p.closed
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				_ = s.client.Close()
				_ = s.server.Close()
			}
			return
		}
	}
}
