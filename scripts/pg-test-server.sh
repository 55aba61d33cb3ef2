#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL server for gongjiang's tests.
#
#   eval "$(scripts/pg-test-server.sh start)"     # prints export lines on stdout
#   go test ./...                                 # tests read GONGJIANG_TEST_PG
#   scripts/pg-test-server.sh stop "$GONGJIANG_PG_TEST_DIR"
#
# "start" runs initdb in a new temporary directory, then starts a server that
# listens only on 127.0.0.1 (no Unix socket), with fsync off and trust auth.
# It creates the login role "gongjiang" with CREATEDB and the database
# "gongjiang_test" owned by that role. Then it prints:
#
#   export GONGJIANG_TEST_PG='postgres://gongjiang@127.0.0.1:PORT/gongjiang_test?sslmode=disable'
#   export GONGJIANG_PG_TEST_DIR='/tmp/gongjiang-pg.XXXXXX'
#
# "stop [DIR]" stops that server and deletes DIR. DIR defaults to
# $GONGJIANG_PG_TEST_DIR. If DIR is already gone, stop does nothing.
# "status [DIR]" reports whether the server is running.
#
# Settings read from the environment:
#   GONGJIANG_PG_PORT  use this port; no search, and start fails if it is busy.
#                      Default: the first free port from 55432 to 55531.
#   GONGJIANG_PG_BIN   directory with initdb/pg_ctl/psql. Default: the newest
#                      /usr/lib/postgresql/*/bin, otherwise what PATH finds.
#   TMPDIR             where the temporary directory is created (default /tmp).
#
# As root, the server programs run as the "postgres" user through runuser,
# because PostgreSQL will not run as root. As any other user, they run as
# that user.
#
# Only export lines and comments go to stdout, so eval is safe. Everything
# else goes to stderr.

set -euo pipefail

readonly MARKER=.gongjiang-pg-test-server
readonly ROLE=gongjiang
readonly DB=gongjiang_test

log() { printf 'pg-test-server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

find_bindir() {
	if [[ -n ${GONGJIANG_PG_BIN:-} ]]; then
		[[ -x $GONGJIANG_PG_BIN/pg_ctl ]] || die "GONGJIANG_PG_BIN=$GONGJIANG_PG_BIN has no pg_ctl"
		printf '%s\n' "$GONGJIANG_PG_BIN"
		return
	fi
	local d best=
	# Newest major version first (sort -V handles 9.6 < 10 < 15 < 17).
	while IFS= read -r d; do
		if [[ -x $d/pg_ctl && -x $d/initdb && -x $d/postgres ]]; then
			best=$d
			break
		fi
	done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -rV || true)
	if [[ -z $best ]] && command -v pg_ctl >/dev/null 2>&1; then
		best=$(dirname "$(command -v pg_ctl)")
	fi
	[[ -n $best ]] || die "no PostgreSQL server binaries found (install the Debian package 'postgresql')"
	printf '%s\n' "$best"
}

# as_server CMD...: run a server program as the user who owns the data directory.
as_server() {
	if [[ $EUID -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# shq STRING: STRING in single quotes, safe for eval by any POSIX shell.
shq() {
	local q="'\\''"
	printf "'%s'" "${1//\'/$q}"
}

port_busy() {
	# Something accepts connections on this port (on 127.0.0.1 or on all addresses).
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stop the server in DIR if it runs, then delete DIR. DIR must carry our marker file.
stop_dir() {
	local dir=$1 bindir pid
	if [[ ! -e $dir ]]; then
		log "$dir does not exist; nothing to stop"
		return 0
	fi
	[[ -f $dir/$MARKER ]] || die "$dir was not created by this script (no $MARKER); refusing to delete it"
	bindir=$(cat "$dir/$MARKER")
	if [[ -f $dir/data/postmaster.pid ]]; then
		if ! (cd / && as_server "$bindir/pg_ctl" -D "$dir/data" -m fast -t 60 -w stop >&2); then
			pid=$(head -n1 "$dir/data/postmaster.pid" 2>/dev/null || true)
			if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
				log "pg_ctl stop failed; sending SIGQUIT to postmaster $pid"
				kill -QUIT "$pid" 2>/dev/null || true
				for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
	fi
	rm -rf -- "$dir"
	log "stopped and removed $dir"
}

# Globals so that the EXIT trap can still see them after cmd_start returns.
START_DIR=
START_OK=

cleanup_failed_start() {
	if [[ -z $START_OK && -n $START_DIR ]]; then
		log "start failed; cleaning up $START_DIR"
		stop_dir "$START_DIR" >/dev/null 2>&1 || rm -rf -- "$START_DIR"
	fi
}

cmd_start() {
	local bindir base dir port='' p ports locale_opt pg_user
	pg_user=$(id -un)
	bindir=$(find_bindir)
	if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
		die "running as root, but there is no 'postgres' user"
	fi

	base=${TMPDIR:-/tmp}
	if [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -w "$base" -a -x "$base" 2>/dev/null; then
		base=/tmp # the postgres user cannot use root's TMPDIR
	fi
	# Clean up if anything below fails or is interrupted. On success the
	# caller owns the directory and must run "stop".
	trap cleanup_failed_start EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	dir=$(mktemp -d "$base/gongjiang-pg.XXXXXX")
	START_DIR=$dir
	printf '%s\n' "$bindir" >"$dir/$MARKER"
	if [[ $EUID -eq 0 ]]; then
		chown postgres: "$dir"
		pg_user=postgres
	fi

	# C.UTF-8 gives UTF-8 character classes (upper/lower on non-ASCII text) and
	# byte-order sorting, without depending on generated system locales.
	if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then
		locale_opt=--locale=C.UTF-8
	else
		locale_opt=--no-locale
	fi
	log "initdb with $bindir (data in $dir/data)"
	(cd / && as_server "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
		--encoding=UTF8 "$locale_opt" --no-instructions >"$dir/initdb.log" 2>&1) ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }

	cat >>"$dir/data/postgresql.conf" <<-'EOF'

		# --- gongjiang throwaway test server (scripts/pg-test-server.sh) ---
		listen_addresses = '127.0.0.1'
		unix_socket_directories = ''
		max_connections = 200
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		timezone = 'UTC'
		log_timezone = 'UTC'
	EOF
	# initdb --auth=trust already writes trust lines for local and 127.0.0.1/::1.

	if [[ -n ${GONGJIANG_PG_PORT:-} ]]; then
		[[ $GONGJIANG_PG_PORT =~ ^[0-9]+$ ]] || die "GONGJIANG_PG_PORT must be a number"
		ports=("$GONGJIANG_PG_PORT")
	else
		mapfile -t ports < <(seq 55432 55531)
	fi
	for p in "${ports[@]}"; do
		if port_busy "$p"; then
			[[ -z ${GONGJIANG_PG_PORT:-} ]] || die "port $p is in use"
			continue
		fi
		: >"$dir/server.log"
		if [[ $EUID -eq 0 ]]; then chown postgres: "$dir/server.log"; fi
		if (cd / && as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
			-o "-p $p" -t 60 -w start >&2); then
			port=$p
			break
		fi
		# Another process took the port between the check and the start: try the next one.
		if [[ -z ${GONGJIANG_PG_PORT:-} ]] &&
			grep -q 'could not bind\|could not create any TCP/IP sockets\|Address already in use' "$dir/server.log"; then
			log "port $p taken, trying the next one"
			continue
		fi
		cat "$dir/server.log" >&2
		die "server did not start"
	done
	[[ -n $port ]] || die "no free port in ${ports[0]}-${ports[-1]}"

	PGSSLMODE=disable PGCONNECT_TIMEOUT=10 "$bindir/psql" -X -q -v ON_ERROR_STOP=1 \
		-h 127.0.0.1 -p "$port" -U postgres -d postgres >&2 <<-EOF
		CREATE ROLE $ROLE LOGIN CREATEDB;
		CREATE DATABASE $DB OWNER $ROLE;
	EOF

	START_OK=1
	log "PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') ready on 127.0.0.1:$port (server user $pg_user, data $dir)"
	printf 'export GONGJIANG_TEST_PG=%s\n' "$(shq "postgres://$ROLE@127.0.0.1:$port/$DB?sslmode=disable")"
	printf 'export GONGJIANG_PG_TEST_DIR=%s\n' "$(shq "$dir")"
	printf '# stop with: %s stop %s\n' "$(shq "$0")" "$(shq "$dir")"
}

cmd_status() {
	local dir=${1:-${GONGJIANG_PG_TEST_DIR:-}}
	[[ -n $dir ]] || die "usage: $0 status DIR (or set GONGJIANG_PG_TEST_DIR)"
	[[ -f $dir/$MARKER ]] || die "$dir is not a test server directory"
	(cd / && as_server "$(cat "$dir/$MARKER")/pg_ctl" -D "$dir/data" status)
}

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	start)
		[[ $# -eq 0 ]] || usage
		cmd_start
		;;
	stop)
		local dir=${1:-${GONGJIANG_PG_TEST_DIR:-}}
		[[ -n $dir ]] || die "usage: $0 stop DIR (or set GONGJIANG_PG_TEST_DIR)"
		stop_dir "$dir"
		;;
	status) cmd_status "$@" ;;
	*) usage ;;
	esac
}

main "$@"
