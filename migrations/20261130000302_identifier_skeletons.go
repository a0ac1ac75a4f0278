package migrations

import (
	"context"
	"strings"

	"github.com/mtibben/confusables"
	"github.com/uptrace/bun"
)

// Skeleton is the form of a username or e-mail address that two look-alike
// identifiers share: Unicode TR39's skeleton (NFD, each character mapped to
// its prototype by the confusables table, NFD again; the table of
// github.com/mtibben/confusables, from Unicode's confusables.txt 13.0),
// case-folded and taken again, so that "paypaI" and "PayPal" (capital I),
// "rnember1" and "member1", and a Cyrillic "а" in "exаmple.com" all meet
// their Latin look-alikes. It is kept in users.username_skeleton and
// users.email_skeleton, each under a unique index.
func Skeleton(s string) string {
	return confusables.Skeleton(strings.ToLower(confusables.Skeleton(s)))
}

// users.username_skeleton and users.email_skeleton, filled for the
// accounts there are, then unique: a new name or address that looks like
// an existing one is refused. Where existing accounts already look alike,
// the newer one's skeleton stays NULL (it keeps working; the next change
// of that name or address is checked).
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, q := range []string{
				`ALTER TABLE users ADD COLUMN username_skeleton VARCHAR(200)`,
				`ALTER TABLE users ADD COLUMN email_skeleton VARCHAR(800)`,
			} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			if err := fillSkeletons(ctx, tx); err != nil {
				return err
			}
			for _, q := range []string{
				`CREATE UNIQUE INDEX users_username_skeleton_key ON users (username_skeleton)`,
				`CREATE UNIQUE INDEX users_email_skeleton_key ON users (email_skeleton)`,
			} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
	}, func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			stmts := []string{
				`DROP INDEX IF EXISTS users_username_skeleton_key`,
				`DROP INDEX IF EXISTS users_email_skeleton_key`,
				`ALTER TABLE users DROP COLUMN username_skeleton`,
				`ALTER TABLE users DROP COLUMN email_skeleton`,
			}
			for _, q := range stmts {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// fillSkeletons computes the skeletons of every account, oldest first, a
// thousand rows per statement.
func fillSkeletons(ctx context.Context, tx bun.Tx) error {
	type row struct {
		ID       int64   `bun:"id"`
		Username string  `bun:"username"`
		Email    *string `bun:"email"`
	}
	seenName, seenEmail := map[string]bool{}, map[string]bool{}
	var last int64
	for {
		var rows []row
		if err := tx.NewSelect().Table("users").Column("id", "username", "email").
			Where("id > ?", last).OrderExpr("id").Limit(1000).Scan(ctx, &rows); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		values := make([]string, 0, len(rows))
		args := make([]any, 0, 3*len(rows))
		for _, r := range rows {
			last = r.ID
			var name, email *string
			if s := Skeleton(r.Username); !seenName[s] {
				seenName[s], name = true, &s
			}
			if r.Email != nil {
				if s := Skeleton(*r.Email); !seenEmail[s] {
					seenEmail[s], email = true, &s
				}
			}
			values = append(values, "(?, ?, ?)")
			args = append(args, r.ID, name, email)
		}
		q := `WITH v(id, s, e) AS (VALUES ` + strings.Join(values, ", ") + `)
			UPDATE users SET username_skeleton = v.s, email_skeleton = v.e FROM v WHERE users.id = v.id`
		if _, err := tx.NewRaw(q, args...).Exec(ctx); err != nil {
			return err
		}
	}
}
