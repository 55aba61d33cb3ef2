#!/usr/bin/env bash
# The scale-out test: a PostgreSQL primary and a streaming replica on
# loopback (Debian's postgresql package), two gongjiang nodes on them
# behind a round-robin proxy, the demo loaded, mixed traffic, the replica
# stopped half-way (internal/e2e TestReplicaCluster does the driving and
# the checking).
#
#   scripts/replica-test.sh [small|province]     # default: small
#
# Environment: GONGJIANG_CLUSTER_SECONDS (traffic time, default 20),
# GONGJIANG_PG_BIN (PostgreSQL binaries; default the newest
# /usr/lib/postgresql/*/bin). As root, the servers run as "postgres".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:$PATH"
scale=${1:-small}

log() { printf 'replica-test: %s\n' "$*" >&2; }
bin=${GONGJIANG_PG_BIN:-$(compgen -G '/usr/lib/postgresql/*/bin' | sort -rV | head -1)}
[[ -x $bin/pg_ctl ]] || { log "no PostgreSQL server binaries (apt-get install postgresql)"; exit 1; }
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { local p; for p in $(seq "$1" $(($1 + 100))); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/gongjiang-cluster.XXXXXX")
chmod 755 "$dir"
[[ $EUID -eq 0 ]] && chown postgres "$dir"
cleanup() {
	for d in replica primary; do
		[[ -f $dir/$d/postmaster.pid ]] && as_pg "$bin/pg_ctl" -D "$dir/$d" -m immediate stop >/dev/null 2>&1 || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

p1=$(free_port 56432)
as_pg "$bin/initdb" -D "$dir/primary" -U postgres -A trust -E UTF8 --locale C.UTF-8 >/dev/null
cat >>"$dir/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $p1
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
max_connections = 200
CONF
echo "host replication postgres 127.0.0.1/32 trust" >>"$dir/primary/pg_hba.conf"
as_pg "$bin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null
as_pg "$bin/psql" -h 127.0.0.1 -p "$p1" -U postgres -qc "CREATE ROLE gongjiang LOGIN"
as_pg "$bin/psql" -h 127.0.0.1 -p "$p1" -U postgres -qc "CREATE DATABASE gongjiang OWNER gongjiang"
log "primary on 127.0.0.1:$p1"

p2=$(free_port $((p1 + 1)))
as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$dir/replica" -R -X stream
echo "port = $p2" >>"$dir/replica/postgresql.auto.conf"
as_pg "$bin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w start >/dev/null
log "streaming replica on 127.0.0.1:$p2"

export GONGJIANG_CLUSTER_PRIMARY="postgres://gongjiang@127.0.0.1:$p1/gongjiang?sslmode=disable"
export GONGJIANG_CLUSTER_REPLICA="postgres://gongjiang@127.0.0.1:$p2/gongjiang?sslmode=disable"
stop="$bin/pg_ctl -D $dir/replica -m immediate stop"
[[ $EUID -eq 0 ]] && stop="runuser -u postgres -- $stop"
export GONGJIANG_CLUSTER_STOP_REPLICA="$stop"
export GONGJIANG_CLUSTER_SCALE=$scale GONGJIANG_REQUIRE_CLUSTER=1
go test -count=1 -v -timeout 60m -run '^TestReplicaCluster$' ./internal/e2e/
