#!/usr/bin/env bash
# The loopback demo: a local HTTPS fixture with its own throwaway CA, fetched
# with `corvid -v`. Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: scripts/demo.sh BUILD_DIR}
work=$(mktemp -d)
fixture_pid=
cleanup() {
    [ -n "$fixture_pid" ] && kill "$fixture_pid" 2>/dev/null && wait "$fixture_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$build/corvid-fixture" --dir "$work" >"$work/fixture.out" 2>&1 &
fixture_pid=$!
for _ in $(seq 1 100); do
    grep -q '^listening' "$work/fixture.out" 2>/dev/null && break
    sleep 0.05
done
url=$(sed -n 's/^listening //p' "$work/fixture.out")
if [ -z "$url" ]; then
    echo "demo: the fixture did not start:" >&2
    cat "$work/fixture.out" >&2
    exit 1
fi

echo "== corvid -v --cacert <throwaway CA> $url"
"$build/corvid" -v --cacert "$work/ca.pem" "$url"
echo
echo "== two URLs, one connection; status, protocol, TLS and timings with -w"
"$build/corvid" -s --cacert "$work/ca.pem" -o /dev/null -o /dev/null \
    -w 'GET %{url_effective}: %{http_code} HTTP/%{http_version} connects=%{num_connects} connect=%{time_connect}s tls=%{time_appconnect}s ttfb=%{time_starttransfer}s total=%{time_total}s bytes=%{size_download}\n' \
    "${url}bytes/1048576" "${url}bytes/1024"
echo
echo "== HTTP/2: the same fixture negotiates h2 by ALPN; 20 URLs, one connection"
urls=()
for i in $(seq 1 20); do urls+=("${url}bytes/$((i * 1000))"); done
"$build/corvid" -s --http2 --cacert "$work/ca.pem" $(printf -- '-o /dev/null %.0s' "${urls[@]}") \
    -w 'HTTP/%{http_version} %{http_code} connects=%{num_connects}\n' \
    "${urls[@]}" | sort | uniq -c
echo
wsurl="wss://${url#https://}ws"
echo "== WebSocket: lines out, echoes back (HTTP/1.1 upgrade, permessage-deflate)"
printf 'hello\nstreaming tokens\n' | "$build/corvid" ws -v --cacert "$work/ca.pem" "$wsurl" 2>&1 |
    grep -E '^(> GET|< HTTP|\* WebSocket|\* closed)|^[a-z]'
echo
echo "== WebSocket over HTTP/2 (extended CONNECT, RFC 8441), and a 2,000-message echo run"
printf 'over h2\n' | "$build/corvid" ws -v --http2 --cacert "$work/ca.pem" "$wsurl" 2>&1 |
    grep -E '^(> CONNECT|< HTTP|\* WebSocket)|^over'
"$build/corvid" ws -n 2000 --size 1024 --no-deflate --cacert "$work/ca.pem" "$wsurl"
echo
echo "== without --cacert the throwaway CA is not trusted (exit code 60 expected)"
set +e
"$build/corvid" -s -S "$url" >/dev/null
echo "exit code: $?"
