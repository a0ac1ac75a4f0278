#!/usr/bin/env bash
# Measures Webmin's pages with wrk beside a plain-text Fiber handler
# (scripts/plaintext), on SQLite and on PostgreSQL, on this machine, and
# prints requests/s, latency p50/p95/p99 and each page's share of the
# plain-text rate. Figures and how to read them: docs/performance.md.
#
#   scripts/bench.sh                                  # pages (issue 4), 1,000 demo accounts
#   BENCH_USERS=1000000 ADMIN=1 scripts/bench.sh      # the console with a million accounts (issue 5)
#   SITE=1 scripts/bench.sh                           # a Lua site script's profile beside the built-in one
#
# Settings (environment):
#   DBS          databases to measure: "sqlite pg" (default), "sqlite" or "pg"
#   BENCH_USERS  demo accounts to seed first (1000)
#   ADMIN        0: the member pages (default); 1: /admin and /admin/users?search=SEARCH
#   SITE         1: the built-in profile and the same page as a site script
#                (scripts/bench-site, GET /site/profile/:username), which must
#                run at 50% or more of the built-in page's rate
#   SEARCH       the admin search term, a piece from the middle of many usernames ("hnso")
#   DURATION     length of each wrk run (10s); THREADS (2), CONNS (32); ADMIN_CONNS (4):
#                the console pages are measured with CONNS and again with ADMIN_CONNS
#   PG_URL       a PostgreSQL server where the script may create (and then
#                drops) a database (postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
#   PORT_BASE    first of the local ports used (3310)
#   KEEP=1       keep the work directory (binaries, data, server logs)
#   KEEP_DATA    a folder where the seeded data is kept and reused by the next
#                run with the same BENCH_USERS (seeding a million accounts takes
#                a while): the SQLite files, and a marker for the PostgreSQL
#                database webmin_bench_<BENCH_USERS>, which is then kept too
#   COLD         search terms timed once each with curl before wrk (ADMIN=1): a
#                first search is not in the console's cache ("hnso ilva arci ingh ossi anak ebe ohan")
#
# Everything runs on 127.0.0.1; every wrk run lasts DURATION and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

DBS=${DBS:-"sqlite pg"}
BENCH_USERS=${BENCH_USERS:-1000}
ADMIN=${ADMIN:-0}
SITE=${SITE:-0}
SEARCH=${SEARCH:-hnso}
COLD=${COLD:-"hnso ilva arci ingh ossi anak ebe ohan"}
ADMIN_CONNS=${ADMIN_CONNS:-4}
KEEP_DATA=${KEEP_DATA:-}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PORT_BASE=${PORT_BASE:-3310}
PASSWORD="bench-password-1234"
SECRET="bench-secret-bench-secret-bench-secret-0123"

for tool in go wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/webmin-bench.XXXXXX)
pids=()
pgdb=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$pgdb" ]; then psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "bench: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== building the server and the plain-text yardstick"
go build -o "$work/webmin" .
go build -o "$work/plaintext" ./scripts/plaintext

results="$work/results"
: >"$results"

# wait_ready URL: until it answers 200 (30 s at most).
wait_ready() {
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: $1 did not come up" >&2
  return 1
}

# cookie_header JAR: "name=value; name=value" from a curl cookie jar.
cookie_header() {
  sed -e 's/^#HttpOnly_//' -e '/^#/d' -e '/^$/d' "$1" | awk -F '\t' '{printf "%s%s=%s", sep, $6, $7; sep="; "}'
}

# sign_in BASE LOGIN JAR: signs in through the form like a browser, then
# opens the dashboard once so the "welcome back" flash is spent and the
# cookie that wrk replays is a plain session (no flash to take each time).
sign_in() {
  local base=$1 login=$2 jar=$3 token code
  rm -f "$jar"
  token=$(curl -fsS -c "$jar" -b "$jar" "$base/login" | grep -o 'name="_csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')
  code=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
    --data-urlencode "_csrf=$token" --data-urlencode "login=$login" --data-urlencode "password=$PASSWORD" "$base/login")
  [ "$code" = 303 ] || { echo "bench: sign-in as $login answered $code" >&2; return 1; }
  curl -fsS -o /dev/null -c "$jar" -b "$jar" "$base/dashboard"
}

# expect URL COOKIE TEXT: the page answers 200 and contains TEXT (so wrk
# measures the page we mean, not a redirect to the sign-in form).
expect() {
  local body
  body=$(curl -sS -H "Cookie: $2" -w '\n%{http_code}' "$1")
  if [ "$(tail -n1 <<<"$body")" != 200 ] || ! grep -qF -- "$3" <<<"$body"; then
    echo "bench: $1 is not the page expected (want 200 with \"$3\"); got $(tail -n1 <<<"$body")" >&2
    return 1
  fi
}

# cpu_ticks PID: the CPU time a process has used so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure DB NAME PID URL [COOKIE [CONNS]]: one wrk run against the server PID, one
# line in the results. Besides the rate it records the server's CPU time
# per request, which a busy machine (other work on the same cores) changes
# much less than the rate.
measure() {
  local db=$1 name=$2 pid=$3 url=$4 cookie=${5:-} conns=${6:-$CONNS} out line before after
  before=$(cpu_ticks "$pid")
  out=$(COOKIE="$cookie" wrk -t"$THREADS" -c"$conns" -d"$DURATION" --timeout 5s -s scripts/bench.lua "$url")
  after=$(cpu_ticks "$pid")
  line=$(grep '^RESULT ' <<<"$out" || true)
  [ -n "$line" ] || { echo "bench: wrk gave no result for $url:" >&2; echo "$out" >&2; return 1; }
  read -r _ rps p50 p95 p99 non2xx errs total <<<"$line"
  cpu=$(awk -v t=$((after - before)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (n > 0) ? t / hz * 1e6 / n : 0 }')
  printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$db" "$name" "$rps" "$p50" "$p95" "$p99" "$non2xx" "$errs" "$cpu" >>"$results"
  printf '   %-38s %9.0f req/s  p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  %6d µs CPU/req' "$name" "$rps" "$p50" "$p95" "$p99" "$cpu"
  [ "$non2xx$errs" = 00 ] && echo || echo "  (non-2xx: $non2xx, socket errors: $errs)"
}

echo "== plain-text yardstick on :$PORT_BASE"
PORT=$PORT_BASE "$work/plaintext" >"$work/plaintext.log" 2>&1 &
pids+=($!)
plain_pid=$!
plain="http://127.0.0.1:$PORT_BASE"
wait_ready "$plain/"

port=$PORT_BASE
for db in $DBS; do
  port=$((port + 1))
  base="http://127.0.0.1:$port"
  data="$work/data-$db"
  seeded=""
  if [ -n "$KEEP_DATA" ]; then
    data="$KEEP_DATA/$db-$BENCH_USERS"
    seeded="$KEEP_DATA/$db-$BENCH_USERS.seeded"
  fi
  mkdir -p "$data"
  case $db in
    sqlite) dburl="" ;;
    pg)
      command -v psql >/dev/null || { echo "bench: psql is needed for the PostgreSQL run" >&2; exit 1; }
      if [ -n "$KEEP_DATA" ]; then
        name="webmin_bench_$BENCH_USERS"
        if [ ! -e "$seeded" ]; then
          psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
          psql -q "$PG_URL" -c "CREATE DATABASE $name" >/dev/null
        fi
      else
        name="webmin_bench_$$"
        pgdb=$name # dropped at the end
        psql -q "$PG_URL" -c "CREATE DATABASE $name" >/dev/null
      fi
      dburl=$(sed -E "s#/[^/?]*(\?|$)#/$name\1#" <<<"${PG_URL#postgres://}")
      dburl="postgres://$dburl"
      ;;
    *) echo "bench: unknown database $db (use sqlite or pg)" >&2; exit 1 ;;
  esac
  run() { env DATA_DIR="$data" DATABASE_URL="$dburl" SESSION_SECRET="$SECRET" LOG_LEVEL=warn "$work/webmin" "$@"; }

  if [ -n "$seeded" ] && [ -e "$seeded" ]; then
    echo "== $db: reusing the $BENCH_USERS demo accounts kept in $KEEP_DATA"
    run migrate up >/dev/null
  else
    echo "== $db: seeding $BENCH_USERS demo accounts"
    start=$(date +%s)
    run demo --users "$BENCH_USERS" >/dev/null 2>"$work/seed-$db.log" || { cat "$work/seed-$db.log" >&2; exit 1; }
    echo "   seeded in $(( $(date +%s) - start ))s"
    printf '%s\n' "$PASSWORD" | run user create --username bench_member --email bench_member@example.com \
      --name "Bench Member" --level 1 --password-stdin >/dev/null
    printf '%s\n' "$PASSWORD" | run user create --username bench_other --email bench_other@example.com \
      --name "Another Member" --level 1 --password-stdin >/dev/null
    printf '%s\n' "$PASSWORD" | run user create --username bench_admin --email bench_admin@example.com \
      --level 10 --password-stdin >/dev/null
    [ -z "$seeded" ] || touch "$seeded"
  fi

  echo "== $db: server on :$port"
  # BASE_URL names a host, not an address: passkeys need a domain.
  # API_RATE_LIMIT: wrk sends far more than a real key may; the limiter is measured as it runs, not its 429s.
  env PORT="$port" DATA_DIR="$data" DATABASE_URL="$dburl" SESSION_SECRET="$SECRET" LOG_LEVEL=warn API_RATE_LIMIT=100000000 \
    BASE_URL="http://localhost:$port" SITE_DIR=scripts/bench-site "$work/webmin" >"$work/server-$db.log" 2>&1 &
  pids+=($!)
  srv=$!
  wait_ready "$base/readyz"

  # A returning visitor: the guest and CSRF cookies a browser keeps.
  guest_jar="$work/guest-$db.jar"
  curl -fsS -o /dev/null -c "$guest_jar" "$base/"
  guest=$(cookie_header "$guest_jar")

  measure "$db" "plain text (yardstick)" "$plain_pid" "$plain/"
  if [ "$ADMIN" = 1 ]; then
    sign_in "$base" bench_admin "$work/admin-$db.jar"
    admin=$(cookie_header "$work/admin-$db.jar")
    expect "$base/admin" "$admin" "bench_admin"
    echo "   first searches (not cached yet), seconds each:"
    for term in $COLD; do
      printf '     %-6s %s\n' "$term" "$(curl -sS -o /dev/null -H "Cookie: $admin" -w '%{time_total}' "$base/admin/users?search=$term")"
    done | tee "$work/cold-$db"
    awk -v db="$db" '{print $2}' "$work/cold-$db" | sort -n | awk -v db="$db" '
      { v[NR] = $1 } END { printf "%s|first searches (%d terms, curl)|-|%.2f|-|%.2f|0|0|0\n", db, NR, 1000 * v[int((NR + 1) / 2)], 1000 * v[NR] }' >>"$results"
    expect "$base/admin/users?search=$SEARCH" "$admin" 'class="user-link"'
    measure "$db" "GET /admin (superadmin)" "$srv" "$base/admin" "$admin"
    measure "$db" "GET /admin/users?search=$SEARCH" "$srv" "$base/admin/users?search=$SEARCH" "$admin"
    # A console has a few people at once, not 32: the same with ADMIN_CONNS.
    measure "$db" "GET /admin, $ADMIN_CONNS connections" "$srv" "$base/admin" "$admin" "$ADMIN_CONNS"
    measure "$db" "GET /admin/users?search=$SEARCH, $ADMIN_CONNS connections" "$srv" "$base/admin/users?search=$SEARCH" "$admin" "$ADMIN_CONNS"
  elif [ "$SITE" = 1 ]; then
    sign_in "$base" bench_member "$work/member-$db.jar"
    member=$(cookie_header "$work/member-$db.jar")
    expect "$base/profile/bench_other" "$member" 'action="/logout"'
    expect "$base/site/profile/bench_other" "$member" 'id="script-profile"'
    measure "$db" "GET /profile/:username (signed in)" "$srv" "$base/profile/bench_other" "$member"
    measure "$db" "GET /site/profile/:username (Lua script, signed in)" "$srv" "$base/site/profile/bench_other" "$member"
  else
    sign_in "$base" bench_member "$work/member-$db.jar"
    member=$(cookie_header "$work/member-$db.jar")
    expect "$base/profile/bench_other" "$member" 'action="/logout"'
    expect "$base/" "$guest" 'id="online-badge"'
    measure "$db" "GET / (returning guest)" "$srv" "$base/" "$guest"
    measure "$db" "GET / (no cookies: a new guest each)" "$srv" "$base/"
    # Another member's profile: session decode, me, one query, the layout.
    measure "$db" "GET /profile/:username (signed in)" "$srv" "$base/profile/bench_other" "$member"
    measure "$db" "GET /login (returning guest)" "$srv" "$base/login" "$guest"
    # The JSON API's view-one with a bearer key (made by the command line):
    # key lookup, the account, the converter, JSON.
    key=$(run key create --user bench_admin --name "bench $$")
    other_id=$(curl -fsS -H "Authorization: Bearer $key" "$base/api/v1/users/bench_other" | sed -E 's/^\{"data":\{"id":([0-9]+).*/\1/')
    AUTHORIZATION="Bearer $key" measure "$db" "GET /api/v1/users/:id (API key)" "$srv" "$base/api/v1/users/$other_id"
  fi
  if grep -q 'level=ERROR' "$work/server-$db.log"; then
    echo "bench: the $db server logged errors:" >&2
    grep 'level=ERROR' "$work/server-$db.log" | head -n5 >&2
  fi
  kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
  unset 'pids[-1]'
  if [ -n "$pgdb" ]; then
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null
    pgdb=""
  fi
done

echo
echo "== machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) memory"
echo "== wrk -t$THREADS -c$CONNS -d$DURATION (unless the row says otherwise), $BENCH_USERS demo accounts, $(go version | awk '{print $3}')"
echo
printf '| database | request | req/s | p50 ms | p95 ms | p99 ms | share of plain text | CPU µs/req | plain-text CPU ÷ CPU | target |\n'
printf '|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n'
awk -F '|' -v admin="$ADMIN" '
  $2 ~ /^plain text/ { plain[$1] = $3; plaincpu[$1] = $9 }
  $2 ~ /^GET \/profile/ { goprofile[$1] = $3 }
  $3 == "-" {
    target = ($6 < 100) ? "slowest < 100 ms: met" : "slowest < 100 ms: MISSED";
    printf "| %s | %s | – | %.2f (median) | – | %.2f (slowest) | | | | %s |\n", $1, $2, $4, $6, target;
    next
  }
  {
    share = (plain[$1] > 0) ? sprintf("%.0f%%", 100 * $3 / plain[$1]) : "";
    cpushare = ($9 > 0) ? sprintf("%.0f%%", 100 * plaincpu[$1] / $9) : "";
    if ($2 ~ /^plain text/) { share = "100%"; cpushare = "100%" }
    target = "";
    if (admin == 1 && $2 !~ /^plain text/) {
      target = ($5 < 100) ? "p95 < 100 ms: met" : "p95 < 100 ms: MISSED";
    } else if ($2 ~ /^GET \/site\/profile/) {
      ratio = (goprofile[$1] > 0) ? 100 * $3 / goprofile[$1] : 0;
      target = (ratio >= 50) ? sprintf("%.0f%% of the Go page, ≥ 50%%: met", ratio) : sprintf("%.0f%% of the Go page, ≥ 50%%: MISSED", ratio);
    } else if ($2 ~ /^GET \/profile/) {
      want = ($1 == "pg") ? 20 : 25;
      target = (100 * $3 / plain[$1] >= want) ? sprintf("≥ %d%%: met", want) : sprintf("≥ %d%%: MISSED", want);
    } else if ($2 ~ /^GET \/ \(returning/) {
      target = (100 * $3 / plain[$1] >= 40) ? "≥ 40%: met" : "≥ 40%: MISSED";
    }
    if ($7 + $8 > 0) target = target " (" $7 " non-2xx, " $8 " socket errors)";
    printf "| %s | %s | %.0f | %.2f | %.2f | %.2f | %s | %d | %s | %s |\n", $1, $2, $3, $4, $5, $6, share, $9, cpushare, target;
  }' "$results"
