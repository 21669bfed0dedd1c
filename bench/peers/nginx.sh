#!/bin/sh
# nginx as the side-by-side peer: installed from Debian packages (without
# starting the distribution's service), run on loopback only with its own
# configuration, serving files over mutual TLS with the given CA, server
# certificate and key, 2 workers. Stopped by the pid it wrote.
#
#   nginx.sh install
#   nginx.sh start DIR PORT CA CERT KEY   (serves DIR/www; state in DIR/nginx)
#   nginx.sh stop DIR
set -eu

install_nginx() {
	command -v nginx >/dev/null 2>&1 && return 0
	# No service may start during the install: it would listen on all
	# interfaces. policy-rc.d (101) forbids it for the install's duration.
	made=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null
	[ -n "$made" ] && rm -f /usr/sbin/policy-rc.d
	command -v nginx >/dev/null
}

start_nginx() {
	dir=$1 port=$2 ca=$3 cert=$4 key=$5
	mkdir -p "$dir/nginx/logs" "$dir/www"
	cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes 2;
worker_rlimit_nofile 250000;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events { worker_connections 120000; }
http {
	access_log off;
	default_type application/octet-stream;
	keepalive_timeout 600s;
	keepalive_requests 100000000;
	client_body_temp_path $dir/nginx/tmp_body;
	proxy_temp_path $dir/nginx/tmp_proxy;
	fastcgi_temp_path $dir/nginx/tmp_fcgi;
	uwsgi_temp_path $dir/nginx/tmp_uwsgi;
	scgi_temp_path $dir/nginx/tmp_scgi;
	ssl_protocols TLSv1.3;
	ssl_certificate $cert;
	ssl_certificate_key $key;
	ssl_client_certificate $ca;
	ssl_verify_client on;
	ssl_verify_depth 2;
	ssl_session_tickets on;
	root $dir/www;
	server { listen 127.0.0.1:$port ssl backlog=4096; }
}
EOF
	nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" -e "$dir/nginx/logs/error.log"
	i=0
	until [ -s "$dir/nginx/nginx.pid" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "nginx did not start" >&2; exit 1; }
		sleep 0.05
	done
}

stop_nginx() {
	pidf=$1/nginx/nginx.pid
	[ -s "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill -QUIT "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
}

case "${1:-}" in
install) install_nginx ;;
start) shift; start_nginx "$@" ;;
stop) stop_nginx "$2" ;;
*) echo "usage: nginx.sh install | start DIR PORT CA CERT KEY | stop DIR" >&2; exit 2 ;;
esac
