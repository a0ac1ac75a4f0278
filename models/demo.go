package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// DemoPassword is the password of every account Seed makes.
const DemoPassword = "demo-password"

// seedBatch is how many accounts one INSERT statement carries.
const seedBatch = 1000

// Seed adds n demo accounts for trying the console out and for measuring
// it: realistic names, e-mail addresses at example domains, sign-ups
// spread over the past year (recent ones more likely), about 2% banned,
// 1% deleted and 1% waiting for confirmation, levels mostly 1–5 with a few
// moderators and admins (never a superadmin), points, some custom
// metadata, sign-ins with their login events over the last 30 days, and a
// few hundred members plus some guests online right now.
//
// Every seeded account signs in with DemoPassword ("demo-password"): one
// hash made at the start is shared by all of them, since hashing each
// would take hours at a million accounts.
//
// Usernames carry a number that starts after the highest id in the
// table, so running Seed again adds n more accounts rather than clashing.
// Rows go in with bulk INSERTs of about a thousand at a time, one
// transaction per batch (on PostgreSQL two batches at once), and progress
// (if not nil) is called after each batch, from the calling goroutine.
func (s *Service) Seed(ctx context.Context, n int, progress func(done, total int)) error {
	if n <= 0 {
		return nil
	}
	hash, err := s.hasher.Hash(ctx, DemoPassword)
	if err != nil {
		return err
	}
	var maxID int64
	if err := s.db.NewSelect().Model((*User)(nil)).ColumnExpr("COALESCE(MAX(u.id), 0)").Scan(ctx, &maxID); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	g := &seeder{
		rng:    rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(maxID))),
		now:    s.now(),
		hash:   hash,
		next:   maxID + 1,
		online: min(300, max(1, n/20)),
		total:  n,
	}
	defer s.invalidateStats()

	// SQLite has one writer at a time; PostgreSQL keeps a second core busy
	// with index upkeep while the first batch commits.
	workers := 1
	if IsPostgres(s.db) {
		workers = 2
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan seedJob)
	results := make(chan seedResult)
	for range workers {
		go func() {
			for job := range jobs {
				inserted, err := s.seedBatch(ctx, g, job)
				results <- seedResult{requested: len(job.users), inserted: inserted, err: err}
			}
		}()
	}
	defer close(jobs)

	done, pending, running, dry := 0, 0, 0, 0
	var firstErr error
	for done < n || running > 0 {
		// Keep every worker busy, asking for as many rows as still lack.
		for firstErr == nil && running < workers && done+pending < n {
			size := min(seedBatch, n-done-pending)
			job := seedJob{users: g.users(size), rng: rand.New(rand.NewPCG(g.rng.Uint64(), g.rng.Uint64()))}
			select {
			case jobs <- job:
				pending += size
				running++
			case <-ctx.Done():
				firstErr = ctx.Err()
			}
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		pending -= r.requested
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
				cancel()
			}
			continue
		}
		if firstErr != nil {
			continue
		}
		// Rows are skipped when a name was taken (say, by an account
		// renamed to look like a seeded one); the loop makes up for them.
		if r.inserted == 0 {
			if dry++; dry >= 10 {
				firstErr = errors.New("ten batches in a row clashed with existing accounts")
				cancel()
				continue
			}
		} else {
			dry = 0
		}
		done += r.inserted
		if progress != nil {
			progress(done, n)
		}
	}
	if firstErr != nil {
		return fmt.Errorf("seed: %w", firstErr)
	}
	return s.seedGuests(ctx, g)
}

// seedJob is one batch of made-up accounts, with a random source of its
// own for the events made once their ids are known.
type seedJob struct {
	users []User
	rng   *rand.Rand
}

type seedResult struct {
	requested, inserted int
	err                 error
}

// seedBatch inserts one batch of accounts with their events and presence
// in one transaction, and returns how many accounts went in.
func (s *Service) seedBatch(ctx context.Context, g *seeder, job seedJob) (int, error) {
	var inserted int
	err := s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if IsPostgres(tx) {
			// Demo data: not waiting for each batch's WAL flush is safe.
			if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return err
			}
		}
		var rows []struct {
			ID       int64
			Username string
		}
		if err := tx.NewInsert().Model(&job.users).On("CONFLICT DO NOTHING").
			Returning("id, username").Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		inserted = len(rows)
		ids := make(map[string]int64, len(rows))
		for _, r := range rows {
			ids[r.Username] = r.ID
		}
		var events []Event
		var presence []Presence
		for i := range job.users {
			u := &job.users[i]
			id, ok := ids[u.Username]
			if !ok {
				continue
			}
			events = g.events(job.rng, events, u, id)
			if g.isOnline(u) {
				presence = append(presence, Presence{
					VisitorID: MemberVisitor(id), UserID: &id, Page: pick(job.rng, pages),
					IP: u.LastLoginIP, UserAgent: u.LastLoginUA, LastSeenAt: *u.LastSeenAt,
				})
			}
		}
		for len(events) > 0 {
			chunk := events[:min(len(events), 2*seedBatch)]
			events = events[len(chunk):]
			if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
				return err
			}
		}
		if len(presence) > 0 {
			if _, err := tx.NewInsert().Model(&presence).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	return inserted, err
}

// seedGuests puts some guests online beside the seeded members.
func (s *Service) seedGuests(ctx context.Context, g *seeder) error {
	r := g.rng
	guests := make([]Presence, g.online/2+1)
	for i := range guests {
		guests[i] = Presence{
			VisitorID:  GuestVisitor(fmt.Sprintf("demo-%016x", r.Uint64())),
			Page:       pick(r, pages),
			IP:         fmt.Sprintf("198.51.100.%d", r.IntN(254)+1),
			UserAgent:  pick(r, userAgents),
			LastSeenAt: g.now.Add(-time.Duration(r.Int64N(int64(4 * time.Minute)))),
		}
	}
	_, err := s.db.NewInsert().Model(&guests).On("CONFLICT DO NOTHING").Exec(ctx)
	return err
}

// seeder makes up accounts. Its rng and counters belong to Seed's
// goroutine; the workers read only now and hash.
type seeder struct {
	rng    *rand.Rand
	now    time.Time
	hash   string
	next   int64 // the number in the next username
	online int   // members to put online, in all
	total  int
	placed int // members put online so far
	made   int // accounts made so far
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// ago is a moment between now and d before it, recent ones more likely.
func (g *seeder) ago(d time.Duration) time.Time {
	x := math.Pow(g.rng.Float64(), 1.6)
	return g.now.Add(-time.Duration(x * float64(d))).Truncate(time.Second)
}

// between is a moment between a and b.
func between(r *rand.Rand, a, b time.Time) time.Time {
	if !b.After(a) {
		return b
	}
	return a.Add(time.Duration(r.Int64N(int64(b.Sub(a))))).Truncate(time.Second)
}

func (g *seeder) users(count int) []User {
	users := make([]User, count)
	for i := range users {
		g.user(&users[i])
	}
	return users
}

func (g *seeder) user(u *User) {
	r := g.rng
	num := strconv.FormatInt(g.next, 10)
	g.next++
	g.made++
	first, last := pick(r, firstNames), pick(r, lastNames)
	f, l := strings.ToLower(first), strings.ToLower(last)
	var name string
	switch r.IntN(6) {
	case 0:
		name = f + "." + l
	case 1:
		name = f[:1] + l
	case 2:
		name = l + "_" + f
	case 3:
		name = f + "-" + l
	case 4:
		name = first + last
	default:
		name = f
	}
	name = name[:min(len(name), 30-len(num))] + num

	created := g.ago(365 * 24 * time.Hour)
	*u = User{
		Username:       name,
		Email:          ptr(strings.ToLower(name) + "@" + pick(r, domains)),
		PasswordHash:   g.hash,
		Level:          g.level(),
		Type:           TypeActive,
		Points:         int64(math.Exp(r.Float64()*9)) - 1,
		Var:            map[string]any{},
		SessionVersion: 1,
		CreatedAt:      created,
		UpdatedAt:      created,
	}
	if r.IntN(10) < 8 {
		u.Name = first + " " + last
	}
	if r.IntN(10) == 0 {
		u.Group = pick(r, groups)
	}
	if r.IntN(10) < 3 {
		u.Var["lang"] = pick(r, langs)
		u.Var["theme"] = pick(r, []string{"light", "dark"})
		if r.IntN(2) == 0 {
			u.Var["newsletter"] = r.IntN(2) == 0
		}
		if r.IntN(4) == 0 {
			u.Var["karma"] = r.IntN(1000)
		}
	}
	switch x := r.IntN(100); {
	case x < 2:
		u.Type = TypeBanned
		u.BanReason = pick(r, banReasons)
	case x < 3:
		u.Type = TypeDeleted
	case x < 4:
		u.Type = TypeInactive
	}
	if u.Type != TypeInactive {
		u.EmailVerifiedAt = ptr(created.Add(time.Duration(r.IntN(3600)) * time.Second))
	}
	// Most accounts signed in at some point; the more recent, the likelier.
	if u.Type != TypeInactive && r.IntN(10) < 7 {
		login := between(r, created, g.now)
		if r.IntN(2) == 0 {
			login = g.ago(g.now.Sub(created))
		}
		if login.Before(created) {
			login = created
		}
		u.LastLoginAt = &login
		u.LoginCount = 1 + int64(math.Exp(r.Float64()*5))
		u.LastLoginIP = fmt.Sprintf("203.0.113.%d", r.IntN(254)+1)
		u.LastLoginUA = pick(r, userAgents)
		seen := login.Add(time.Duration(r.IntN(7200)) * time.Second)
		if seen.After(g.now) {
			seen = g.now
		}
		u.LastSeenAt = &seen
		u.UpdatedAt = login
	}
	// Online now: spread over the whole run, so that a million-account
	// seed doesn't put everyone from the first batch online.
	if u.Type == TypeActive && g.placed < g.online && r.IntN(max(1, g.total/g.online/2)) == 0 {
		g.placed++
		seen := g.now.Add(-time.Duration(r.Int64N(int64(4 * time.Minute)))).Truncate(time.Millisecond)
		u.LastSeenAt = &seen
		if u.LastLoginAt == nil || u.LastLoginAt.After(seen) {
			login := seen.Add(-time.Duration(r.IntN(3600)) * time.Second)
			if login.Before(created) {
				login = created
			}
			u.LastLoginAt = &login
			u.LoginCount = max(u.LoginCount, 1)
			u.LastLoginIP = fmt.Sprintf("203.0.113.%d", r.IntN(254)+1)
			u.LastLoginUA = pick(r, userAgents)
		}
	}
}

// isOnline reports whether Seed put u online (seen within 5 minutes).
func (g *seeder) isOnline(u *User) bool {
	return u.Type == TypeActive && u.LastSeenAt != nil && g.now.Sub(*u.LastSeenAt) < 5*time.Minute
}

func (g *seeder) level() int {
	switch x := g.rng.IntN(10000); {
	case x < 50:
		return 0
	case x < 6000:
		return 1
	case x < 7800:
		return 2
	case x < 8800:
		return 3
	case x < 9400:
		return 4
	case x < 9950:
		return 5
	case x < 9975:
		return 6
	case x < 9990:
		return 7
	case x < 9997:
		return 8
	}
	return 9
}

// events adds the login events of an account that signed in during the
// last 30 days, and the ban or delete that put it in its state.
func (g *seeder) events(r *rand.Rand, evs []Event, u *User, id int64) []Event {
	since := g.now.AddDate(0, 0, -StatsDays)
	if u.LastLoginAt != nil && u.LastLoginAt.After(since) {
		from := since
		if u.CreatedAt.After(from) {
			from = u.CreatedAt
		}
		n := 1 + r.IntN(int(min(u.LoginCount, 4)))
		for i := range n {
			at := *u.LastLoginAt
			if i > 0 {
				at = between(r, from, at)
			}
			evs = append(evs, Event{ActorID: &id, Action: EvLogin, TargetID: &id,
				IP: u.LastLoginIP, UserAgent: u.LastLoginUA, CreatedAt: at})
		}
	}
	switch u.Type {
	case TypeBanned:
		evs = append(evs, Event{Action: EvBan, TargetID: &id, IP: "cli", Detail: u.BanReason,
			CreatedAt: between(r, u.CreatedAt, g.now)})
	case TypeDeleted:
		evs = append(evs, Event{Action: EvDelete, TargetID: &id, IP: "cli",
			CreatedAt: between(r, u.CreatedAt, g.now)})
	}
	return evs
}

var (
	firstNames = []string{
		"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
		"David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
		"Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Margaret", "Paul", "Sandra",
		"Steven", "Ashley", "Andrew", "Emily", "Kenneth", "Donna", "Joshua", "Michelle", "Kevin", "Carol",
		"Brian", "Amanda", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Jason", "Rebecca",
		"Liam", "Olivia", "Noah", "Emma", "Oliver", "Ava", "Elijah", "Sophia", "Lucas", "Isabella",
		"Mateo", "Mia", "Levi", "Amelia", "Hugo", "Chloe", "Louis", "Lea", "Lukas", "Hannah",
		"Jonas", "Lena", "Felix", "Anna", "Paolo", "Giulia", "Marco", "Chiara", "Pablo", "Lucia",
		"Diego", "Carmen", "Javier", "Elena", "Ivan", "Olga", "Dmitri", "Natasha", "Kenji", "Yuki",
		"Hiro", "Sakura", "Wei", "Mei", "Arjun", "Priya", "Ravi", "Ananya", "Omar", "Layla",
		"Ahmed", "Fatima", "Kwame", "Amara", "Tariq", "Zara", "Sven", "Ingrid", "Lars", "Freya",
	}
	lastNames = []string{
		"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
		"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
		"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
		"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
		"Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Rossi", "Russo",
		"Ferrari", "Esposito", "Bianchi", "Romano", "Dubois", "Durand", "Lefebvre", "Moreau", "Laurent", "Simon",
		"Ivanov", "Petrov", "Sokolov", "Tanaka", "Suzuki", "Sato", "Watanabe", "Kim", "Park", "Chen",
		"Wang", "Li", "Zhang", "Liu", "Singh", "Kumar", "Sharma", "Patel", "Khan", "Ali",
		"Hansen", "Johansson", "Nielsen", "Larsen", "Andersen", "Okafor", "Mensah", "Silva", "Santos", "Costa",
	}
	domains    = []string{"example.com", "example.org", "example.net", "mail.example", "inbox.test", "post.example.com"}
	groups     = []string{"beta", "press", "partners", "staff", "vip"}
	langs      = []string{"en", "de", "fr", "es", "it", "ja", "pt", "nl"}
	banReasons = []string{"Spam", "Abusive messages", "Fake account", "Repeated rule violations", "Chargeback fraud", "Impersonation"}
	pages      = []string{"/", "/dashboard", "/settings", "/admin", "/admin/users", "/admin/online", "/login", "/register"}
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
	}
)
