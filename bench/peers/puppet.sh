#!/bin/sh
# Puppet Server 7 (Debian's puppetserver) and puppet agent as the P4 peer,
# on loopback only: a CA and a server certificate named localhost, a
# trivial manifest, the JVM started as user puppet the way its service unit
# would, and stopped by the pid it got. The agent on the same host uses the
# localhost certificate (the catalog load uses it too).
#
#   puppet.sh install
#   puppet.sh start DIR      (pid in DIR/puppetserver.pid; ready when it returns)
#   puppet.sh stop DIR
set -eu

CONF=/etc/puppet
SSL=/var/lib/puppet/ssl

install_puppet() {
	command -v puppetserver >/dev/null 2>&1 && command -v puppet >/dev/null 2>&1 &&
		return 0
	made=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q puppetserver puppet-agent >/dev/null
	[ -n "$made" ] && rm -f /usr/sbin/policy-rc.d
	command -v puppetserver >/dev/null
}

configure() {
	# The server and its agent are this host, as localhost; nothing
	# listens beyond loopback.
	cat >"$CONF/puppet.conf" <<EOF
[main]
server = localhost
certname = localhost
[server]
autosign = false
EOF
	sed -i 's/ssl-host: .*/ssl-host: 127.0.0.1/' "$CONF/puppetserver/conf.d/webserver.conf"
	mkdir -p "$CONF/code/environments/production/manifests"
	echo "node default { notify { 'steward-bench': message => 'hello' } }" \
		>"$CONF/code/environments/production/manifests/site.pp"
	if [ ! -s "$SSL/certs/localhost.pem" ]; then
		puppetserver ca setup --certname localhost \
			--subject-alt-names localhost,puppet >/dev/null
	fi
}

start_puppet() {
	dir=$1
	configure
	mkdir -p /run/puppetserver
	chown puppet:puppet /run/puppetserver
	printf 0 >/run/puppetserver/restart
	chown puppet:puppet /run/puppetserver/restart
	# The service's environment (JAVA_ARGS, TK_ARGS) and command line.
	set -a
	. /etc/default/puppetserver
	set +a
	(cd / && exec setpriv --reuid=puppet --regid=puppet --init-groups -- \
		/usr/bin/java $JAVA_ARGS -Djruby.lib=/usr/share/jruby/lib \
		-XX:+CrashOnOutOfMemoryError \
		-jar /usr/share/puppetserver/puppetserver.jar \
		--config "$CONF/puppetserver/conf.d" \
		--bootstrap-config "$CONF/puppetserver/services.d" \
		--restart-file /run/puppetserver/restart ${TK_ARGS:-}) \
		>"$dir/puppetserver.out" 2>&1 &
	echo $! >"$dir/puppetserver.pid"
	i=0
	until [ "$(head -c 1 /run/puppetserver/restart)" = 1 ]; do
		i=$((i + 1))
		if [ $i -gt 480 ] || ! kill -0 "$(cat "$dir/puppetserver.pid")" 2>/dev/null; then
			echo "puppetserver did not start: $(tail -n 5 "$dir/puppetserver.out")" >&2
			exit 1
		fi
		sleep 0.5
	done
}

stop_puppet() {
	pidf=$1/puppetserver.pid
	[ -s "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidf"
}

case "${1:-}" in
install) install_puppet ;;
start) start_puppet "$2" ;;
stop) stop_puppet "$2" ;;
*) echo "usage: puppet.sh install | start DIR | stop DIR" >&2; exit 2 ;;
esac
