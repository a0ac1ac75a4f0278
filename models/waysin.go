package models

import (
	"context"
	"database/sql"
	"errors"

	"github.com/uptrace/bun"
)

// waysIn is how an account can sign in: its password, its passkeys and
// its linked identities. An account always keeps at least one: the one
// rule behind removing a passkey, unlinking an identity and an admin's
// two-factor reset. (An e-mailed reset link is not counted: it sets a
// password, and an account need not have an address.)
type waysIn struct {
	password   bool
	passkeys   int64
	identities int64
}

func (w waysIn) any() bool { return w.password || w.passkeys > 0 || w.identities > 0 }

// waysInOf reads u's ways in through db: inside the transaction that
// locked u (lockUser) when one is about to be removed.
func (s *Service) waysInOf(ctx context.Context, db bun.IDB, u *User) (waysIn, error) {
	w := waysIn{password: u.HasPassword()}
	var err error
	if w.passkeys, err = db.NewSelect().Model((*Passkey)(nil)).Where("user_id = ?", u.ID).Count(ctx); err != nil {
		return w, err
	}
	w.identities, err = db.NewSelect().Model((*Identity)(nil)).Where("user_id = ?", u.ID).Count(ctx)
	return w, err
}

// removeWayIn reads row (a *Passkey or *Identity of u, by id) and deletes
// it, inside tx that locked u (lockUser), unless it is u's last way in:
// less takes the row from the count. ErrNotFound when u has no such row.
func (s *Service) removeWayIn(ctx context.Context, tx bun.IDB, u *User, row any, id int64, less func(*waysIn)) error {
	err := tx.NewSelect().Model(row).Where("id = ? AND user_id = ?", id, u.ID).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	w, err := s.waysInOf(ctx, tx, u)
	if err != nil {
		return err
	}
	if less(&w); !w.any() {
		return errLastWayIn()
	}
	_, err = tx.NewDelete().Model(row).Where("id = ?", id).Exec(ctx)
	return err
}

// errLastWayIn refuses to remove an account's last way in.
func errLastWayIn() error {
	return denied("this is the only way to sign in to the account; set a password, add a passkey or link another provider first")
}

// SignsInWithoutIdentity reports whether the account has a way in
// besides its identities: a password or a passkey. Without one, its last
// identity can't be unlinked.
func (s *Service) SignsInWithoutIdentity(ctx context.Context, u *User) (bool, error) {
	w, err := s.waysInOf(ctx, s.db, u)
	return w.password || w.passkeys > 0, err
}

// SignsInWithoutPasskeys reports whether the account has a way in
// besides its passkeys: a password or a linked identity. Without one, its
// last passkey can't be removed.
func (s *Service) SignsInWithoutPasskeys(ctx context.Context, u *User) (bool, error) {
	w, err := s.waysInOf(ctx, s.db, u)
	return w.password || w.identities > 0, err
}
