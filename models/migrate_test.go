package models_test

import (
	"context"
	"testing"

	"github.com/webmin/webmin/migrations"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

func TestMigrationsUpDownUp(t *testing.T) {
	for _, name := range modelstest.DBNames {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := modelstest.OpenEmpty(t, name)
			tables := []string{"users", "events", "presence"}
			if name == "sqlite" {
				tables = append(tables, "users_fts")
			}
			exists := func(table string) bool {
				_, err := db.NewSelect().TableExpr(table).ColumnExpr("count(*)").Exec(ctx)
				return err == nil
			}
			want := func(stage string, present bool) {
				t.Helper()
				for _, table := range tables {
					if exists(table) != present {
						t.Fatalf("%s: table %s exists %v, want %v", stage, table, !present, present)
					}
				}
			}
			want("empty", false)

			g, err := migrations.Up(ctx, db)
			if err != nil || g.IsZero() {
				t.Fatalf("up: %v %v", g, err)
			}
			want("up", true)
			if g, err := migrations.Up(ctx, db); err != nil || !g.IsZero() {
				t.Fatalf("up again: %v %v", g, err)
			}

			// The schema works: an account, its search index, an event.
			svc := modelstest.Service(db, modelstest.NewClock())
			if _, err := svc.Create(ctx, models.System, models.NewUser{Username: "before", Password: "12345678"}); err != nil {
				t.Fatal(err)
			}

			if g, err := migrations.Down(ctx, db); err != nil || g.IsZero() {
				t.Fatalf("down: %v %v", g, err)
			}
			want("down", false)
			if g, err := migrations.Down(ctx, db); err != nil || !g.IsZero() {
				t.Fatalf("down again: %v %v", g, err)
			}

			if _, err := migrations.Up(ctx, db); err != nil {
				t.Fatalf("up after down: %v", err)
			}
			want("up after down", true)
			svc = modelstest.Service(db, modelstest.NewClock())
			u, err := svc.Create(ctx, models.System, models.NewUser{Username: "before", Password: "12345678"})
			if err != nil {
				t.Fatalf("create after up, down, up: %v", err)
			}
			p, err := svc.List(ctx, models.Filter{Search: "efor"})
			if err != nil || p.Total != 1 || p.Items[0].ID != u.ID {
				t.Fatalf("search after up, down, up: %+v %v", p, err)
			}
		})
	}
}
