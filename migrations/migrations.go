// Package migrations holds the schema history, one Go file per change,
// each written for PostgreSQL and SQLite and run inside a transaction.
package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// Migrations is every migration, registered by the files of this package.
var Migrations = migrate.NewMigrations()

// Statements is one migration step's SQL for each database.
type Statements struct {
	PG     []string
	SQLite []string
}

// inTx runs the statements for db's dialect in one transaction. Each
// migration file registers itself with
// Migrations.MustRegister(inTx(up), inTx(down)), so that bun names the
// migration after that file.
func inTx(s Statements) migrate.MigrationFunc {
	return func(ctx context.Context, db *bun.DB) error {
		stmts := s.SQLite
		if db.Dialect().Name() == dialect.PG {
			stmts = s.PG
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, q := range stmts {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("%w\n-- in statement:\n%s", err, q)
				}
			}
			return nil
		})
	}
}

// NewMigrator returns the migrator for db.
func NewMigrator(db *bun.DB) *migrate.Migrator {
	return migrate.NewMigrator(db, Migrations, migrate.WithMarkAppliedOnSuccess(true))
}

// Up applies every pending migration and returns the group applied (empty
// when there was nothing to do).
func Up(ctx context.Context, db *bun.DB) (*migrate.MigrationGroup, error) {
	return locked(ctx, db, (*migrate.Migrator).Migrate)
}

// Down rolls back the last group of migrations.
func Down(ctx context.Context, db *bun.DB) (*migrate.MigrationGroup, error) {
	return locked(ctx, db, (*migrate.Migrator).Rollback)
}

// locked runs one migrator step holding bun's migration lock, so two
// servers starting at once don't migrate twice.
func locked(ctx context.Context, db *bun.DB,
	step func(*migrate.Migrator, context.Context, ...migrate.MigrationOption) (*migrate.MigrationGroup, error),
) (*migrate.MigrationGroup, error) {
	m := NewMigrator(db)
	if err := m.Init(ctx); err != nil {
		return nil, err
	}
	if err := m.Lock(ctx); err != nil {
		return nil, err
	}
	defer m.Unlock(ctx) //nolint:errcheck
	return step(m, ctx)
}
