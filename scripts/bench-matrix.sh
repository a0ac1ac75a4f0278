#!/usr/bin/env bash
# Times every filter × sort × page of the account list (console and API)
# and of the audit log on a kept million-account database for each
# database, and prints one table: request, first ms (the request's first
# answer, nothing of it cached), p50 and p95 ms (wrk, 32 connections),
# rows. Figures and how to read them: docs/performance.md ("The matrix").
#
#   scripts/bench-matrix.sh                       # both databases, wrk on a sample
#   WRK=all DURATION=1s scripts/bench-matrix.sh   # wrk on every request (long)
#   DBS=pg ONLY='search=' scripts/bench-matrix.sh # one database, some requests
#
# Settings (environment):
#   DBS          databases: "sqlite pg" (default), "sqlite" or "pg"
#   BENCH_DIR    where the kept SQLite database and work files live (/work/bench;
#                outside the repository)
#   SQLITE_FILE  the kept SQLite database ($BENCH_DIR/webmin_1m.db)
#   PG_URL       a PostgreSQL server (postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
#   PG_DB        the kept PostgreSQL database (webmin_bench_1m)
#   USERS        demo accounts to seed when a kept database is missing (1000000;
#                about 8 minutes on PostgreSQL, 20 on SQLite on a busy machine)
#   WRK          sample (default: wrk on page 1, the middle and the last page of
#                every filter in its default order, and page 1 of every sort),
#                all, or none
#   DURATION     length of each wrk run (2s); CONNS (32)
#   THREADS      wrk's threads (1). wrk shares the machine with the server:
#                on two cores a second wrk thread is starved by the server's
#                and the 16 connections it drives wait for it, which tripled
#                the p95 wrk reported at the same requests/s (docs/performance.md,
#                "session 8"). THREADS=2 gives the earlier sessions' method.
#   ONLY         run only the requests whose path matches this grep -E pattern
#   WARM         1 (default): read the database into its buffers before the
#                matrix (PostgreSQL: pg_prewarm of every table and index; SQLite:
#                the file into the operating system's cache), as on a server
#                that has been running; 0 measures a database just started
#   PORT         the server's port (3420)
#   RESULTS      where the rows are written ($BENCH_DIR/matrix-results.tsv)
#
# The databases are kept (seeded once, migrated on each run); the script
# adds an admin "bench_admin" and an API key to them.
set -euo pipefail
cd "$(dirname "$0")/.."

DBS=${DBS:-"sqlite pg"}
BENCH_DIR=${BENCH_DIR:-/work/bench}
SQLITE_FILE=${SQLITE_FILE:-$BENCH_DIR/webmin_1m.db}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PG_DB=${PG_DB:-webmin_bench_1m}
USERS=${USERS:-1000000}
WRK=${WRK:-sample}
DURATION=${DURATION:-2s}
THREADS=${THREADS:-1}
CONNS=${CONNS:-32}
ONLY=${ONLY:-}
PORT=${PORT:-3420}
WARM=${WARM:-1}
PASSWORD="bench-password-1234"
SECRET="bench-secret-bench-secret-bench-secret-0123"

for tool in go wrk curl jq; do
  command -v "$tool" >/dev/null || { echo "bench-matrix: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done
mkdir -p "$BENCH_DIR"
# DAMON proactive reclaim pages out what nothing touched for a while: a
# first answer then measures the disk (docs/performance.md, "session 9").
for state in /sys/kernel/mm/damon/admin/kdamonds/*/state; do
  if [ -r "$state" ] && [ "$(cat "$state")" = on ]; then
    echo "bench-matrix: DAMON proactive reclaim is on ($state): pages no request touched for a minute are read from the disk again, and first answers measure that" >&2
  fi
done
work=$(mktemp -d "$BENCH_DIR/matrix.XXXXXX")
srv=""
cleanup() {
  if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building the server" >&2
go build -o "$work/webmin" .
results=${RESULTS:-$BENCH_DIR/matrix-results.tsv}
: >"$results"

today=$(date -u +%F)
month_ago=$(date -u -d '30 days ago' +%F)
week_ago=$(date -u -d '7 days ago' +%F)
yesterday=$(date -u -d '1 day ago' +%F)

# The filters. Console and API share most; the console filters by a date
# range, the API by group.
common_filters=("" "type=active" "type=blocked" "level=1" "level=7" "role=user" "role=admin"
  "search=e" "search=mo" "search=zq" "search=hnso" "search=son"
  "type=active&role=user" "type=active&search=smi" "role=user&level=2")
console_only=("created_from=$month_ago&created_to=$today" "role=user&created_from=$month_ago&created_to=$today")
api_only=("group=vip" "type=active&group=beta")
sorts=(created_at -created_at id -id username -username last_login_at -last_login_at last_seen_at -last_seen_at points -points level -level)
event_filters=("" "action=login" "action=user." "action=user.ban" "since=$week_ago&until=$today" "action=login&since=$yesterday&until=$today" "actor=bench_admin")

wait_ready() {
  for _ in $(seq 600); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench-matrix: $1 did not come up" >&2
  return 1
}

# csrf URL JAR: the form token of a page.
csrf() { curl -fsS -c "$2" -b "$2" "$1" | grep -o 'name="_csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//'; }

cookie_header() {
  sed -e 's/^#HttpOnly_//' -e '/^#/d' -e '/^$/d' "$1" | awk -F '\t' '{printf "%s%s=%s", sep, $6, $7; sep="; "}'
}

# time_one DB KIND PATH: one request, its first answer; prints "ms rows total"
# (total: the number of matches it reports, for the pager; "+" when a lower bound).
time_one() {
  local kind=$2 path=$3 out code ms rows total
  if [ "$kind" = api ]; then
    out=$(curl -sS -o "$work/body" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $key" "$base$path")
  else
    out=$(curl -sS -o "$work/body" -w '%{http_code} %{time_total}' -H "Cookie: $cookie" "$base$path")
  fi
  read -r code ms <<<"$out"
  ms=$(awk -v s="$ms" 'BEGIN { printf "%.1f", s * 1000 }')
  if [ "$code" != 200 ]; then
    echo "$ms HTTP$code 0"
    return
  fi
  case $kind in
    api)
      rows=$(jq '.data | length' "$work/body")
      total=$(jq -r '"\(.pagination.totalItems)\(if .pagination.totalIsLowerBound then "+" else "" end)"' "$work/body")
      ;;
    console)
      rows=$(grep -c 'class="user-row"' "$work/body" || true)
      total=$(grep -o 'id="users-total" data-total="[0-9]*"[^>]*' "$work/body" | sed 's/.*data-total="\([0-9]*\)".*/\1/' | head -n1)
      grep -q 'id="users-total"[^>]*data-at-least' "$work/body" && total="$total+"
      ;;
    events)
      rows=$(grep -c 'class="event-row"' "$work/body" || true)
      total=$(grep -o 'id="events-total" data-total="[0-9]*"' "$work/body" | sed 's/.*data-total="\([0-9]*\)"/\1/' | head -n1)
      ;;
  esac
  echo "$ms $rows ${total:-0}"
}

# load KIND PATH: wrk with CONNS connections; prints "p50 p95".
load() {
  local kind=$1 path=$2 out line
  if [ "$kind" = api ]; then
    out=$(AUTHORIZATION="Bearer $key" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 5s -s scripts/bench.lua "$base$path")
  else
    out=$(COOKIE="$cookie" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 5s -s scripts/bench.lua "$base$path")
  fi
  # Let the server finish what the run left under way before the next
  # first answer is timed.
  sleep 0.2
  line=$(grep '^RESULT ' <<<"$out" || true)
  [ -n "$line" ] || { echo "- -"; return; }
  read -r _ _ p50 p95 _ non2xx errs _ <<<"$line"
  if [ "$non2xx$errs" != 00 ]; then echo "$p50 $p95(errors:$non2xx/$errs)"; else echo "$p50 $p95"; fi
}

# row DB KIND PATH WRK?: measures one request and appends it to the results.
row() {
  local db=$1 kind=$2 path=$3 want_wrk=$4 first rows total p50="" p95=""
  if [ -n "$ONLY" ] && ! grep -qE -- "$ONLY" <<<"$path"; then return; fi
  read -r first rows total <<<"$(time_one "$db" "$kind" "$path")"
  if [ "$WRK" = all ] || { [ "$WRK" = sample ] && [ "$want_wrk" = 1 ]; }; then
    read -r p50 p95 <<<"$(load "$kind" "$path")"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$db" "$path" "$first" "$p50" "$p95" "$rows" "$total" >>"$results"
  printf '   %-90s first %8s ms  p50 %8s  p95 %8s  rows %4s  total %s\n' "$path" "$first" "${p50:--}" "${p95:--}" "$rows" "$total" >&2
}

# pages TOTAL: the middle and the last page for 50 a page ("" when one
# page), and, when the middle lies beyond the browse window (5,000 rows
# from either end, models.BrowseWindow), the window's deepest page (100):
# the middle answers at once that it isn't listed, page 100 is the longest
# walk a list takes.
pages() {
  local total=${1%+} n mid
  n=$(( (total + 49) / 50 ))
  [ "$n" -gt 1 ] || return 0
  mid=$(( (n + 1) / 2 ))
  if [ "$mid" -gt 100 ]; then echo "100 $mid $n"; else echo "$mid $n"; fi
}

# list_matrix DB KIND PREFIX FILTERS...: every filter × sort × page.
list_matrix() {
  local db=$1 kind=$2 prefix=$3 filter sort sep path total
  shift 3
  for filter in "$@"; do
    for sort in "${sorts[@]}"; do
      sep="?"
      path="$prefix"
      [ -n "$filter" ] && { path="$path?$filter"; sep="&"; }
      path="$path${sep}sort=$sort"
      [ "$kind" = api ] && path="$path&limit=50"
      default=0
      { [ "$sort" = -created_at ] || [ -z "$filter" ]; } && default=1
      if [ -n "$ONLY" ] && ! grep -qE -- "$ONLY" <<<"$path"; then continue; fi
      row "$db" "$kind" "$path" "$default"
      total=$(tail -n1 "$results" | cut -f7)
      for p in $(pages "$total"); do
        row "$db" "$kind" "$path&page=$p" "$([ "$sort" = -created_at ] && echo 1 || echo 0)"
      done
    done
  done
}

for db in $DBS; do
  case $db in
    sqlite)
      dburl=$SQLITE_FILE
      if [ ! -e "$SQLITE_FILE" ]; then
        echo "== sqlite: seeding $USERS demo accounts into $SQLITE_FILE" >&2
        DATABASE_URL="$dburl" DATA_DIR="$work" "$work/webmin" demo --users "$USERS" >/dev/null
      fi
      ;;
    pg)
      pgdb=$(sed -E "s#/[^/?]*(\?|$)#/$PG_DB\1#" <<<"$PG_URL") # PG_URL naming the kept database
      dburl=$pgdb
      # Building indexes at a million rows outlasts the driver's default
      # 10-second read timeout on a busy machine.
      case $dburl in *\?*) dburl="$dburl&read_timeout=600s" ;; *) dburl="$dburl?read_timeout=600s" ;; esac
      if ! psql -Atq "$PG_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
        echo "== pg: seeding $USERS demo accounts into $PG_DB" >&2
        psql -q "$PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
        DATABASE_URL="$dburl" DATA_DIR="$work" "$work/webmin" demo --users "$USERS" >/dev/null
        psql -q "$pgdb" -c "VACUUM ANALYZE" >/dev/null
      fi
      ;;
    *) echo "bench-matrix: unknown database $db" >&2; exit 1 ;;
  esac
  run() { env DATA_DIR="$work" DATABASE_URL="$dburl" SESSION_SECRET="$SECRET" LOG_LEVEL=error "$work/webmin" "$@"; }
  echo "== $db: migrating" >&2
  run migrate up >&2
  # Planner statistics: PostgreSQL's index-only scans skip the table only
  # for pages the visibility map marks all-visible (VACUUM sets it), and
  # both planners choose between walking a sort index and sorting a
  # filter's matches from them (docs/performance.md, "The matrix").
  echo "== $db: planner statistics" >&2
  case $db in
    sqlite)
      if command -v sqlite3 >/dev/null; then
        sqlite3 "$SQLITE_FILE" 'PRAGMA analysis_limit = 1000; ANALYZE;'
      else
        echo "bench-matrix: no sqlite3, the statistics are the migrations' (ANALYZE)" >&2
      fi
      ;;
    pg) psql -q "$pgdb" -c 'VACUUM (ANALYZE) users' -c 'VACUUM (ANALYZE) events' >&2 ;;
  esac
  # The database's own buffers: PostgreSQL reads a rare search's matches,
  # one table page each, from shared_buffers in 2-5 µs a page, and from the
  # operating system's cache 10-60 µs a page on a virtual machine; a new
  # connection's first touch of each buffer costs about as much again
  # unless they live in huge pages (docs/performance.md, "session 10").
  case $db in
    pg)
      read -r buffers size <<<"$(psql -Atq -F ' ' "$pgdb" -c "SELECT current_setting('shared_buffers'),
        pg_size_pretty(pg_database_size(current_database()))")"
      echo "== pg: shared_buffers $buffers, database $size, huge pages: $(grep -E '^HugePages_Total' /proc/meminfo | awk '{print $2}') reserved" >&2
      if [ "$WARM" = 1 ]; then
        echo "== pg: warming shared_buffers (pg_prewarm)" >&2
        psql -Atq "$pgdb" -c 'CREATE EXTENSION IF NOT EXISTS pg_prewarm' -c "SELECT sum(pg_prewarm(c.oid)) || ' pages'
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')" >&2
      fi
      ;;
    sqlite)
      if [ "$WARM" = 1 ]; then
        echo "== sqlite: reading the file into the operating system's cache" >&2
        cat "$SQLITE_FILE" >/dev/null
      fi
      ;;
  esac
  printf '%s\n' "$PASSWORD" | run user create --username bench_admin --email bench_admin@example.com \
    --level 10 --password-stdin >/dev/null 2>&1 || true

  base="http://127.0.0.1:$PORT"
  # BASE_URL names a host, not an address: passkeys need a domain.
  env PORT="$PORT" DATA_DIR="$work" DATABASE_URL="$dburl" SESSION_SECRET="$SECRET" LOG_LEVEL=warn BASE_URL="http://localhost:$PORT" API_RATE_LIMIT=1000000000 \
    "$work/webmin" >"$work/server-$db.log" 2>&1 &
  srv=$!
  wait_ready "$base/readyz"

  jar="$work/$db.jar"
  token=$(csrf "$base/login" "$jar")
  code=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" --data-urlencode "_csrf=$token" \
    --data-urlencode "login=bench_admin" --data-urlencode "password=$PASSWORD" "$base/login")
  [ "$code" = 303 ] || { echo "bench-matrix: sign-in answered $code" >&2; exit 1; }
  curl -fsS -o /dev/null -c "$jar" -b "$jar" "$base/dashboard"
  token=$(csrf "$base/admin/keys" "$jar")
  curl -sS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "_csrf=$token" --data-urlencode "name=bench-matrix $(date +%s)" "$base/admin/keys"
  key=$(curl -fsS -c "$jar" -b "$jar" "$base/admin/keys" | grep -oE 'wm_[A-Za-z0-9_-]{30,}' | head -n1)
  [ -n "$key" ] || { echo "bench-matrix: no API key made" >&2; exit 1; }
  cookie=$(cookie_header "$jar")

  echo "== $db: /admin/users" >&2
  list_matrix "$db" console /admin/users "${common_filters[@]}" "${console_only[@]}"
  echo "== $db: /api/v1/users" >&2
  list_matrix "$db" api /api/v1/users "${common_filters[@]}" "${api_only[@]}"
  echo "== $db: /admin/events" >&2
  for filter in "${event_filters[@]}"; do
    path=/admin/events
    [ -n "$filter" ] && path="$path?$filter"
    row "$db" events "$path" 1
    total=$(tail -n1 "$results" | cut -f7)
    for p in $(pages "$total"); do
      sep="?"; [ -n "$filter" ] && sep="&"
      row "$db" events "$path${sep}page=$p" 1
    done
  done

  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  srv=""
done

echo
echo "| database | request | first ms | p50 ms | p95 ms | rows |"
echo "|---|---|--:|--:|--:|--:|"
awk -F '\t' '{ printf "| %s | `%s` | %s | %s | %s | %s |\n", $1, $2, $3, ($4 == "" ? "" : $4), ($5 == "" ? "" : $5), $6 }' "$results"
echo
awk -F '\t' '
  { n[$1]++; if ($3 + 0 >= 100) slow[$1]++; if ($5 != "") { w[$1]++; if ($5 + 0 >= 50) wslow[$1]++ }
    if ($3 + 0 > worst[$1]) { worst[$1] = $3 + 0; worstp[$1] = $2 } }
  END { for (d in n) printf "%s: %d requests, %d first answers at 100 ms or more (slowest %.0f ms: %s); %d measured with wrk, %d with p95 at 50 ms or more\n",
    d, n[d], slow[d], worst[d], worstp[d], w[d], wslow[d] }' "$results"
echo "(all rows: $results)"
