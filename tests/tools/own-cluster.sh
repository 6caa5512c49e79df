# Sourced by the TAP suites that run a server of their own next to the
# suite's (tests/tap/*.sh): TAP's check, and a throwaway cluster.
#   own_cluster PORT_BASE [NAME=VALUE...]  initdb in a new directory $dir
#       (data, socket and log), the settings appended to postgresql.conf,
#       $port picked in PORT_BASE..PORT_BASE+9999; at exit the server is
#       stopped and $dir removed (KEEP=1 keeps it, for a post-mortem)
#   start [pg_ctl option...]               start it on $port, socket in $dir
#   as_pg COMMAND...                       run as postgres when root
#   check DESCRIPTION COMMAND...           "ok N - ..." or "not ok N - ..."
bindir=/usr/lib/postgresql/15/bin
n=0

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

check() { n=$((n + 1)); if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }

own_cluster() {
  dir=$(mktemp -d); chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
  port=$(($1 + RANDOM % 10000)); shift
  trap own_cluster_cleanup EXIT
  as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres >/dev/null 2>&1
  for o in "$@"; do printf '%s\n' "$o"; done | sed "s/^\([^=]*\)=\(.*\)$/\1 = '\2'/" >> "$dir/data/postgresql.conf"
}

own_cluster_cleanup() {
  if [ -n "${KEEP:-}" ]; then echo "# kept $dir"; return; fi
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$dir"
}

start() { as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=''" "$@" start >/dev/null; }
