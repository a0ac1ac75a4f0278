package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/uptrace/bun/driver/pgdriver"
)

// IsUnavailable reports whether err means the database can't be reached
// right now (refused or dropped connections, a server shutting down or
// starting, too many connections, a closed pool, SQLite busy past its
// timeout), as opposed to a fault in the request: such requests answer 503
// with Retry-After rather than 500.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		code := pe.Field('C')
		return strings.HasPrefix(code, "08") || // connection exception
			code == "57P01" || code == "57P02" || code == "57P03" || // admin/crash shutdown, cannot connect now
			code == "53300" // too many connections
	}
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &op), errors.As(err, &ne):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "sql: database is closed") ||
		strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY") ||
		strings.Contains(msg, "unable to open database")
}

// killedConn reports whether err says the server ended the connection
// (pg_terminate_backend, a restart, a dropped network path) before
// answering: a statement sent on it did not run.
func killedConn(err error) bool {
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pe.Field('C') == "57P01" || pe.Field('C') == "57P02" ||
			pe.Field('V') == "FATAL" && strings.HasPrefix(pe.Field('C'), "08")
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// DropKilledConn is a pgdriver reset-session function
// (pgdriver.WithResetSessionFunc): before a pooled connection is used
// again it looks, without waiting, whether the server has ended it
// (pg_terminate_backend, a restart: a FATAL message, or the end of the
// stream, waits on an idle connection) and has database/sql open another
// instead, so that neither a read nor a write is sent on it.
func DropKilledConn(_ context.Context, cn *pgdriver.Conn) error {
	if idleConnEnded(cn.Conn()) {
		return driver.ErrBadConn
	}
	return nil
}

// RetryReads wraps a PostgreSQL connector so that a read (a SELECT) sent
// on a pooled connection the server has killed (SQLSTATE 57P01 after
// pg_terminate_backend, a failover) answers driver.ErrBadConn: database/sql
// then runs it again on another connection instead of failing the request.
// Writes are never retried here; they fail and the request answers 503.
func RetryReads(c driver.Connector) driver.Connector { return retryConnector{c} }

type retryConnector struct{ driver.Connector }

func (c retryConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &retryConn{Conn: cn}, nil
}

// retryConn passes everything to the driver's connection, turning a
// killed connection under a SELECT into driver.ErrBadConn.
type retryConn struct {
	driver.Conn
}

func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

func (c *retryConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if err != nil && ctx.Err() == nil && isRead(query) && killedConn(err) {
		return nil, driver.ErrBadConn
	}
	return rows, err
}

func (c *retryConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := c.Conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *retryConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *retryConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // the driver has nothing better
}

func (c *retryConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *retryConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *retryConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

var (
	_ driver.QueryerContext     = (*retryConn)(nil)
	_ driver.ExecerContext      = (*retryConn)(nil)
	_ driver.ConnPrepareContext = (*retryConn)(nil)
	_ driver.ConnBeginTx        = (*retryConn)(nil)
	_ driver.Pinger             = (*retryConn)(nil)
	_ driver.Validator          = (*retryConn)(nil)
	_ driver.SessionResetter    = (*retryConn)(nil)
)
