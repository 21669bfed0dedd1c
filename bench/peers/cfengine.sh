#!/bin/sh
# CFEngine 3 (Debian's cfengine3) as the agent-cost peer: a cf-serverd on
# 127.0.0.1 serving one policy file, and an agent work directory whose
# update run (cf-agent -K) pulls it through the server, the network path a
# fleet's agents take. Work directories are overridden, so nothing touches
# the system's /var/lib/cfengine3. Stopped by the pid it got.
#
#   cfengine.sh install
#   cfengine.sh start DIR PORT      (server in DIR/cfs, agent in DIR/cfa)
#   cfengine.sh run DIR             (one agent update run)
#   cfengine.sh argv DIR            (that run's command line, to time it)
#   cfengine.sh stop DIR
set -eu

install_cfengine() {
	command -v cf-serverd >/dev/null 2>&1 && return 0
	made=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q cfengine3 >/dev/null
	[ -n "$made" ] && rm -f /usr/sbin/policy-rc.d
	command -v cf-serverd >/dev/null
}

# workdir DIR: the layout cf-* expect under an overridden work directory.
workdir() {
	mkdir -p "$1/inputs" "$1/bin" "$1/ppkeys" "$1/outputs" "$1/state"
	chmod 700 "$1" "$1/ppkeys"
	ln -sf /usr/bin/cf-promises "$1/bin/cf-promises"
	[ -s "$1/ppkeys/localhost.priv" ] ||
		CFENGINE_TEST_OVERRIDE_WORKDIR=$1 cf-key >/dev/null 2>&1
}

start_cfengine() {
	dir=$1 port=$2
	workdir "$dir/cfs"
	workdir "$dir/cfa"
	mkdir -p "$dir/cfs/masterfiles"
	echo "steward bench policy" >"$dir/cfs/masterfiles/policy.txt"
	cat >"$dir/cfs/inputs/promises.cf" <<EOF
body common control
{
  bundlesequence => { "main" };
}
bundle agent main
{
  reports:
    "bench";
}
body server control
{
  bindtointerface  => "127.0.0.1";
  port             => "$port";
  allowconnects    => { "127.0.0.1" };
  allowallconnects => { "127.0.0.1" };
  trustkeysfrom    => { "127.0.0.1" };
  allowusers       => { "root" };
  maxconnections   => "400";
}
bundle server access_rules
{
  access:
    "$dir/cfs/masterfiles/"
      admit_ips => { "127.0.0.1" };
}
EOF
	cat >"$dir/cfa/inputs/update.cf" <<EOF
body common control
{
  bundlesequence => { "pull" };
}
bundle agent pull
{
  files:
    "$dir/cfa/pulled/policy.txt"
      copy_from => remote("$dir/cfs/masterfiles/policy.txt");
}
body copy_from remote(from)
{
  source     => "\$(from)";
  servers    => { "127.0.0.1" };
  portnumber => "$port";
  compare    => "digest";
  trustkey   => "true";
  copy_backup => "false";
}
EOF
	chmod 600 "$dir/cfs/inputs/promises.cf" "$dir/cfa/inputs/update.cf"
	CFENGINE_TEST_OVERRIDE_WORKDIR=$dir/cfs cf-serverd -F \
		-f "$dir/cfs/inputs/promises.cf" >"$dir/cfs/serverd.out" 2>&1 &
	echo $! >"$dir/cfs/serverd.pid"
	i=0
	until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$(cat "$dir/cfs/serverd.pid")" 2>/dev/null; then
			echo "cf-serverd did not start: $(tail -n 5 "$dir/cfs/serverd.out")" >&2
			exit 1
		fi
		sleep 0.1
	done
	# The first run trusts the server's key; later runs are the steady state.
	run_agent "$dir" >/dev/null 2>&1 || true
}

run_agent() {
	CFENGINE_TEST_OVERRIDE_WORKDIR=$1/cfa cf-agent -K -f "$1/cfa/inputs/update.cf"
}

# The same run as one command line (environment first), for timing it
# without this shell around it.
agent_argv() {
	printf 'CFENGINE_TEST_OVERRIDE_WORKDIR=%s/cfa cf-agent -K -f %s/cfa/inputs/update.cf\n' "$1" "$1"
}

stop_cfengine() {
	pidf=$1/cfs/serverd.pid
	[ -s "$pidf" ] || return 0
	kill -TERM "$(cat "$pidf")" 2>/dev/null || true
	rm -f "$pidf"
}

case "${1:-}" in
install) install_cfengine ;;
start) shift; start_cfengine "$@" ;;
run) run_agent "$2" ;;
argv) agent_argv "$2" ;;
stop) stop_cfengine "$2" ;;
*) echo "usage: cfengine.sh install | start DIR PORT | run DIR | argv DIR | stop DIR" >&2; exit 2 ;;
esac
