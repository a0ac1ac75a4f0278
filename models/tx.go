package models

import (
	"context"

	"github.com/uptrace/bun"
)

// Transactions that compose: a public operation of the service (Block,
// Delete...) is a thin wrapper that opens a transaction around an inner
// function taking bun.IDB (applyIn, the bulk batches), so that several
// operations can share one transaction, as in bun's example/tx-composition
// and Gitea's db.WithTx. The wrapper also does what must wait for the
// commit (moving the census, flushing caches).

// inTx runs fn inside db's transaction when db already is one, and
// otherwise inside a new transaction that commits when fn returns nil.
func inTx(ctx context.Context, db bun.IDB, fn func(ctx context.Context, tx bun.IDB) error) error {
	switch tx := db.(type) {
	case bun.Tx:
		return fn(ctx, tx)
	case *bun.Tx:
		return fn(ctx, tx)
	}
	return runCollecting(ctx, db, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx) })
}
