#!/bin/bash
# first_request_timeout: a connection that has not begun a request within
# it of its accept (the TLS handshake included) is closed by the site, so
# sockets opened and left silent hold a descriptor for seconds, not for the
# HTTP layer's idle timeout. A connection that made a request is not
# touched, nor is a held long-poll.
. "$(dirname "$0")/lib.sh"

init_site dl --approval all
echo "first_request_timeout = 2s" >>"$SITE/steward.conf"
run_site
PORT=${URL##*:}
TOKEN=$(new_token --uses 1)
expect_exit 0 agent enroll --state "$TMP/c1" --token "$TOKEN" --hostname c1 --hardware-id hw-deadline-01
CRED=$(agent_cred "$TMP/c1")

# Each case prints how long the site took to close the connection (or
# "open" when it was still open after the wait).
python3 - "$PORT" "$SITE/ca/ca.crt" "$TMP/c1/cert.pem" "$TMP/c1/key.pem" >"$TMP/cases" <<'PY' ||
import socket, ssl, sys, time

port, ca, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def wait_close(read, limit):
    """Seconds until the peer closed, or None if still open at limit."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        try:
            if read() in (b"", None):
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (ssl.SSLError, ConnectionError, OSError):
            return time.monotonic() - t0
    return None


def tls(with_cert):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if with_cert:
        ctx.load_cert_chain(cert, key)
    s = socket.create_connection(("127.0.0.1", port), 5)
    return ctx.wrap_socket(s)


def response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def show(name, t):
    print(name, "open" if t is None else "%.2f" % t)


# 1. TCP only: no handshake at all.
s = socket.create_connection(("127.0.0.1", port), 5)
s.settimeout(0.5)
show("tcp", wait_close(lambda: s.recv(1), 15))
s.close()

# 2. The handshake done (no client certificate, as an enrolling device),
# then silence.
s = tls(False)
s.settimeout(0.5)
show("tls", wait_close(lambda: s.recv(1), 15))
s.close()

# 3. A request made at once, then 4 s of silence: still open, and a second
# request on it is answered.
s = tls(True)
s.sendall(b"GET /v1/policy HTTP/1.1\r\nHost: x\r\n\r\n")
first = response(s)
s.settimeout(0.5)
t = wait_close(lambda: s.recv(1), 4)
s.sendall(b"GET /v1/policy HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(5)
again = response(s) if t is None else b""
show("kept", t)
print("kept-answers", first.split(b"\r\n")[0].decode(), "/",
      again.split(b"\r\n")[0].decode() if again else "-")
s.close()

# 4. A long-poll held for 5 s: answered at its end, not cut.
s = tls(True)
s.sendall(b"GET /v1/notify?wait=5&after=999999999 HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(10)
t0 = time.monotonic()
held = response(s)
print("held %.2f %s" % (time.monotonic() - t0, held.split(b"\r\n")[0].decode()))
s.close()
PY
	fail "the cases did not run: $(cat "$TMP/cases")"

case_of() { sed -n "s/^$1 //p" "$TMP/cases"; }
within() { python3 -c 'import sys; v=sys.argv[1]; sys.exit(0 if v!="open" and float(sys.argv[2])<=float(v)<=float(sys.argv[3]) else 1)' "$@"; }
within "$(case_of tcp)" 1.95 9 || fail "a silent TCP connection was closed after $(case_of tcp) s (want 2 s and a sweep)"
within "$(case_of tls)" 1.95 9 || fail "a silent TLS connection was closed after $(case_of tls) s"
grep -q "closed 1 connection(s) that began no request within 2s" "$SITE_LOG" ||
	fail "no log of the closed connections: $(cat "$SITE_LOG")"
ok "connections that begin no request within first_request_timeout are closed: TCP after $(case_of tcp) s, TLS after $(case_of tls) s"

[ "$(case_of kept)" = open ] || fail "a connection that made a request was closed after $(case_of kept) s"
[ "$(case_of kept-answers)" = "HTTP/1.1 200 OK / HTTP/1.1 200 OK" ] ||
	fail "answers on the kept connection: $(case_of kept-answers)"
HELD=$(case_of held)
within "${HELD%% *}" 4.5 9 && [ "${HELD#* }" = "HTTP/1.1 200 OK" ] ||
	fail "the held long-poll: $HELD"
ok "a connection that made a request, and a held long-poll, are left alone"

stop_site
echo "first_request_timeout = 0s" >>"$SITE/steward.conf"
expect_exit 1 "$BIN/stewardd" run --dir "$SITE"
expect_in "first_request_timeout must be a duration between 1s and 10m"
ok "a bad first_request_timeout is refused"
