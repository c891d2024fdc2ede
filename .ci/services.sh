# shellcheck shell=bash
# Sourced by .ci/run (and by developers: `source .ci/services.sh`): starts
# a private Redis, a private three-master Redis Cluster and a private
# PostgreSQL on 127.0.0.1, each on free ports with its data in a temp dir,
# for the store tests, and exports
#
#   OAUTHLOGIN_TEST_REDIS          host:port of the Redis server
#   OAUTHLOGIN_TEST_REDIS_CLUSTER  host:port,host:port,host:port of the
#                                  cluster's masters (no replicas)
#   OAUTHLOGIN_TEST_POSTGRES       a connection URL to an empty database
#
# Both are installed with apt-get when missing. An EXIT trap (chained after
# any trap already set) stops them and removes their files. A server that
# does not come up within a few seconds fails the sourcing shell: it exits
# non-zero when non-interactive (CI), returns non-zero otherwise.
#
# Idempotent: a variable that is already set and names a server that answers
# is kept, and nothing is started for it.

_ol_fail() {
	echo "services.sh: $*" >&2
	return 1
}

# _ol_root runs its arguments as root: directly, or through sudo.
_ol_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		_ol_fail "need root or sudo to run: $*"
	fi
}

_ol_apt_updated=""
_ol_apt_install() {
	if [ -z "$_ol_apt_updated" ]; then
		_ol_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || return 1
		_ol_apt_updated=1
	fi
	_ol_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# _ol_free_port prints a TCP port on 127.0.0.1 that nothing listens on,
# below Linux's ephemeral range (32768 and up), where outgoing connections
# take their local ports.
_ol_free_port() {
	local port i
	for i in $(seq 1 50); do
		port=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	_ol_fail "no free port found"
}

# _ol_wait runs its arguments every 0.1 s until they succeed, for at most
# $1 tenths of a second.
_ol_wait() {
	local tries=$1 i
	shift
	for i in $(seq 1 "$tries"); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

_ol_pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then
			echo "$d"
		fi
	done | sort -V | tail -n 1
}

_ol_redis_up() {
	local host=${1%:*} port=${1##*:}
	[ "$(redis-cli -h "$host" -p "$port" ping 2>/dev/null)" = PONG ]
}

_ol_start_redis() {
	if [ -n "${OAUTHLOGIN_TEST_REDIS:-}" ] && command -v redis-cli >/dev/null && _ol_redis_up "$OAUTHLOGIN_TEST_REDIS"; then
		echo "services.sh: using Redis at $OAUTHLOGIN_TEST_REDIS"
		return 0
	fi
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		_ol_apt_install redis-server || { _ol_fail "cannot install redis-server"; return 1; }
	fi
	local port
	port=$(_ol_free_port) || return 1
	redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
		--dir "$_ol_dir" --pidfile "$_ol_dir/redis.pid" --logfile "$_ol_dir/redis.log" ||
		{ _ol_fail "redis-server did not start"; return 1; }
	_ol_redis_port=$port
	if ! _ol_wait 100 _ol_redis_up "127.0.0.1:$port"; then
		cat "$_ol_dir/redis.log" >&2 2>/dev/null
		_ol_fail "Redis on 127.0.0.1:$port did not answer within 10 s"
		return 1
	fi
	export OAUTHLOGIN_TEST_REDIS="127.0.0.1:$port"
	echo "services.sh: Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') at $OAUTHLOGIN_TEST_REDIS"
}

# _ol_cluster_up reports whether every node of the comma-separated list
# answers and says cluster_state:ok.
_ol_cluster_up() {
	local addr
	for addr in ${1//,/ }; do
		redis-cli -h "${addr%:*}" -p "${addr##*:}" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
	done
}

# _ol_start_redis_cluster starts the cluster's three nodes and, in the
# background, redis-cli --cluster create (which waits a second for the
# nodes to join), so that PostgreSQL starts meanwhile; _ol_await_redis_cluster
# waits for it and exports the variable.
_ol_start_redis_cluster() {
	_ol_cluster_create=""
	if [ -n "${OAUTHLOGIN_TEST_REDIS_CLUSTER:-}" ] && command -v redis-cli >/dev/null && _ol_cluster_up "$OAUTHLOGIN_TEST_REDIS_CLUSTER"; then
		echo "services.sh: using Redis Cluster at $OAUTHLOGIN_TEST_REDIS_CLUSTER"
		return 0
	fi
	local i
	_ol_cluster_addrs=()
	for i in 1 2 3; do
		_ol_start_cluster_node || return 1
	done
	redis-cli --cluster create "${_ol_cluster_addrs[@]}" --cluster-replicas 0 --cluster-yes >"$_ol_dir/cluster-create.log" 2>&1 &
	_ol_cluster_create=$!
}

# _ol_start_cluster_node starts one node of the cluster on free ports (the
# client's and the cluster bus's), trying other ports when those are taken.
_ol_start_cluster_node() {
	local port bus try dir i
	for try in 1 2 3; do
		port=$(_ol_free_port) || return 1
		bus=$(_ol_free_port) || return 1
		[ "$port" != "$bus" ] || continue
		dir=$_ol_dir/cluster-$port
		mkdir -p "$dir"
		redis-server --bind 127.0.0.1 --port "$port" --cluster-enabled yes --cluster-port "$bus" \
			--cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 1000 \
			--save '' --appendonly no --daemonize yes --dir "$dir" \
			--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" ||
			{ _ol_fail "redis-server (cluster node) did not start"; return 1; }
		_ol_cluster_ports+=("$port")
		for i in $(seq 1 100); do
			if _ol_redis_up "127.0.0.1:$port"; then
				_ol_cluster_addrs+=("127.0.0.1:$port")
				return 0
			fi
			grep -q aborting "$dir/redis.log" 2>/dev/null && break
			sleep 0.1
		done
	done
	cat "$dir/redis.log" >&2 2>/dev/null
	_ol_fail "no Redis cluster node answered (3 tries)"
	return 1
}

_ol_await_redis_cluster() {
	[ -n "$_ol_cluster_create" ] || return 0
	if ! wait "$_ol_cluster_create"; then
		cat "$_ol_dir/cluster-create.log" >&2
		_ol_fail "redis-cli --cluster create failed"
		return 1
	fi
	_ol_cluster_create=""
	local list
	list=$(IFS=,; echo "${_ol_cluster_addrs[*]}")
	if ! _ol_wait 100 _ol_cluster_up "$list"; then
		_ol_fail "Redis Cluster $list did not reach cluster_state:ok within 10 s"
		return 1
	fi
	export OAUTHLOGIN_TEST_REDIS_CLUSTER=$list
	echo "services.sh: Redis Cluster (3 masters) at $OAUTHLOGIN_TEST_REDIS_CLUSTER"
}

_ol_start_postgres() {
	local bin
	bin=$(_ol_pg_bin)
	if [ -n "${OAUTHLOGIN_TEST_POSTGRES:-}" ] && [ -n "$bin" ] && "$bin/pg_isready" -q -d "$OAUTHLOGIN_TEST_POSTGRES"; then
		echo "services.sh: using PostgreSQL at $OAUTHLOGIN_TEST_POSTGRES"
		return 0
	fi
	if [ -z "$bin" ]; then
		_ol_apt_install postgresql || { _ol_fail "cannot install postgresql"; return 1; }
		bin=$(_ol_pg_bin)
		[ -n "$bin" ] || { _ol_fail "postgresql installed but no initdb under /usr/lib/postgresql"; return 1; }
	fi
	local as=() port data=$_ol_dir/pg
	if [ "$(id -u)" -eq 0 ]; then
		as=(runuser -u postgres --)
		mkdir -p "$data"
		chown postgres: "$_ol_dir" "$data"
	fi
	"${as[@]}" "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >"$_ol_dir/initdb.log" 2>&1 ||
		{ cat "$_ol_dir/initdb.log" >&2; _ol_fail "initdb failed"; return 1; }
	port=$(_ol_free_port) || return 1
	# Test settings: no durability (the data is thrown away), room for the
	# parallel tests' connection pools.
	"${as[@]}" "$bin/pg_ctl" -D "$data" -l "$_ol_dir/postgres.log" -w -t 30 \
		-o "-k $_ol_dir -h 127.0.0.1 -p $port -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
		start >/dev/null ||
		{ cat "$_ol_dir/postgres.log" >&2; _ol_fail "PostgreSQL did not start"; return 1; }
	_ol_pg_data=$data
	_ol_pg_ctl=("${as[@]}" "$bin/pg_ctl")
	if ! _ol_wait 100 "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
		_ol_fail "PostgreSQL on 127.0.0.1:$port did not answer within 10 s"
		return 1
	fi
	"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres oauthlogin_test ||
		{ _ol_fail "createdb failed"; return 1; }
	export OAUTHLOGIN_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/oauthlogin_test?sslmode=disable"
	echo "services.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at $OAUTHLOGIN_TEST_POSTGRES"
}

# _ol_stop_services stops what this script started and removes its files.
_ol_stop_services() {
	if [ -n "${_ol_redis_port:-}" ]; then
		redis-cli -h 127.0.0.1 -p "$_ol_redis_port" shutdown nosave >/dev/null 2>&1 ||
			{ [ -f "$_ol_dir/redis.pid" ] && kill "$(cat "$_ol_dir/redis.pid")" 2>/dev/null; }
		_ol_redis_port=""
	fi
	local port
	if [ -n "${_ol_cluster_create:-}" ]; then
		wait "$_ol_cluster_create" 2>/dev/null
		_ol_cluster_create=""
	fi
	for port in ${_ol_cluster_ports[@]+"${_ol_cluster_ports[@]}"}; do
		redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 ||
			{ [ -f "$_ol_dir/cluster-$port/redis.pid" ] && kill "$(cat "$_ol_dir/cluster-$port/redis.pid")" 2>/dev/null; }
	done
	_ol_cluster_ports=()
	if [ -n "${_ol_pg_data:-}" ]; then
		"${_ol_pg_ctl[@]}" -D "$_ol_pg_data" -m immediate -w stop >/dev/null 2>&1
		_ol_pg_data=""
	fi
	if [ -n "${_ol_dir:-}" ]; then
		rm -rf "$_ol_dir"
		_ol_dir=""
	fi
}

_ol_services() {
	if [ -z "${_ol_dir:-}" ]; then
		_ol_dir=$(mktemp -d /tmp/oauthlogin-services.XXXXXX) || return 1
		chmod 755 "$_ol_dir"
		local prev
		prev=$(trap -p EXIT)
		prev=${prev#trap -- }
		prev=${prev% EXIT}
		if [ -n "$prev" ]; then
			eval "prev=$prev"
			# shellcheck disable=SC2064 # expand the previous trap now
			trap "$prev; _ol_stop_services" EXIT
		else
			trap _ol_stop_services EXIT
		fi
	fi
	_ol_start_redis && _ol_start_redis_cluster && _ol_start_postgres && _ol_await_redis_cluster
}

if ! _ol_services; then
	_ol_stop_services
	case $- in
	*i*) return 1 ;;
	*) exit 1 ;;
	esac
fi
