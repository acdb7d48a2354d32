#!/usr/bin/env bash
# Captures what Debian's Chromium and Firefox ESR send for a page's fetch()
# over HTTP/2 and for a page's wss:// WebSocket over HTTP/1.1.
#
#   scripts/capture-fingerprints.sh [chromium] [firefox]     (default: both)
#
# Needs: chromium, firefox-esr, libnss3-tools (certutil), nghttp2-server
# (nghttpd), openssl, /usr/bin/python3; xvfb-run only if headless fails.
# Every run makes a throwaway CA and a localhost leaf, serves a page and
# /api/data over HTTP/2 with `nghttpd -v` on 127.0.0.1:PORT and a TLS
# WebSocket endpoint (scripts/capture_fingerprints.py ws-server) on
# 127.0.0.1:PORT2, loads https://localhost:PORT/ in each browser (headless,
# fresh profile) until the page's WebSocket has been answered, and writes
# into tests/data/fingerprints/:
#   <browser><major>-fetch-h2-frames.txt  the nghttpd -v log (page + fetch)
#   <browser><major>-ws-hello.bin         the WebSocket's first TLS record
#   <browser><major>-ws-hello.json        hello_capture.py --parse of it
#   <browser><major>-ws-request.txt       the raw HTTP/1.1 upgrade head
# HELLO_CAPTURE (default /work/shared/fingerprints/hello_capture.py) decodes
# the hellos; it is run from its own directory, not copied. Set
# CAPTURE_XVFB=1 to run the browsers non-headless under xvfb-run instead,
# CAPTURE_OUT=DIR to write elsewhere, CAPTURE_KEEP=1 to keep the scratch
# directory (certificates, profiles, raw logs), CAPTURE_TIMEOUT=SECONDS to
# change how long to wait for each browser (default 45).
# See docs/fingerprints.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
helper="$root/scripts/capture_fingerprints.py"
out=${CAPTURE_OUT:-"$root/tests/data/fingerprints"}
py=/usr/bin/python3
hello_capture=${HELLO_CAPTURE:-/work/shared/fingerprints/hello_capture.py}
wait_seconds=${CAPTURE_TIMEOUT:-45}

browsers=("$@")
if [ ${#browsers[@]} -eq 0 ]; then
    browsers=(chromium firefox)
fi

for tool in openssl nghttpd certutil "$py"; do
    command -v "$tool" >/dev/null || { echo "capture: missing $tool" >&2; exit 2; }
done
[ -f "$hello_capture" ] || { echo "capture: missing $hello_capture" >&2; exit 2; }

work=$(mktemp -d /tmp/corvid-capture.XXXXXX)
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    local pid
    # Only jobs this shell started and has not reaped yet; each was started
    # with setsid, so its pid is also its process-group id.
    for pid in $(jobs -p); do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    if [ -n "$(jobs -p)" ]; then
        sleep 1
        for pid in $(jobs -p); do
            kill -KILL -- "-$pid" 2>/dev/null || true
        done
        wait 2>/dev/null || true
    fi
    if [ "${CAPTURE_KEEP:-0}" = 1 ]; then
        echo "capture: scratch files kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# stop PID: end the process group PID leads and wait for it.
stop() {
    local pid=$1
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- certificates
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -days 30 -subj "/CN=corvid capture CA" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout leaf.key -out leaf.csr -subj /CN=localhost 2>/dev/null
cat > leaf.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EOF
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 30 -extfile leaf.ext -out leaf.pem 2>/dev/null
cat leaf.pem ca.pem > chain.pem

mkdir -p "$out"

# ---------------------------------------------------------------- one browser
# capture NAME MAJOR CMD...: serve, run CMD (the browser) in its own process
# group, wait until the WebSocket endpoint has its upgrade, stop everything.
capture() {
    local name=$1 major=$2
    shift 2
    local tag="$name$major"
    local ports port port2
    ports=$("$py" "$helper" free-ports 2)
    port=$(echo "$ports" | sed -n 1p)
    port2=$(echo "$ports" | sed -n 2p)
    local docroot="$work/docroot-$name"
    "$py" "$helper" page "$docroot" "$port2"

    echo "== $tag: page https://localhost:$port/, WebSocket wss://localhost:$port2/ws"
    setsid nghttpd -v -a 127.0.0.1 -d "$docroot" "$port" leaf.key chain.pem \
        > "$work/$tag-h2.log" 2>&1 &
    local h2_pid=$!
    setsid "$py" -u "$helper" ws-server --port "$port2" --cert chain.pem \
        --key leaf.key --hello "$work/$tag-ws-hello.bin" \
        --request "$work/$tag-ws-request.txt" --timeout "$wait_seconds" \
        > "$work/$tag-ws.log" 2>&1 &
    local ws_pid=$!
    sleep 0.5

    local url="https://localhost:$port/"
    setsid "$@" "$url" > "$work/$tag-browser.log" 2>&1 &
    local browser_pid=$!

    local rc=0
    wait "$ws_pid" || rc=$?
    # Let the browser finish the close handshake and any last frames.
    sleep 1
    stop "$browser_pid"
    sleep 0.5
    stop "$h2_pid"
    cat "$work/$tag-ws.log"
    if [ "$rc" -ne 0 ]; then
        echo "capture: $tag: no WebSocket upgrade; browser log:" >&2
        tail -30 "$work/$tag-browser.log" >&2
        return 1
    fi
    cp "$work/$tag-h2.log" "$out/$tag-fetch-h2-frames.txt"
    cp "$work/$tag-ws-hello.bin" "$out/$tag-ws-hello.bin"
    cp "$work/$tag-ws-request.txt" "$out/$tag-ws-request.txt"
    (cd "$(dirname "$hello_capture")" &&
        "$py" "./$(basename "$hello_capture")" --parse "$out/$tag-ws-hello.bin") \
        > "$out/$tag-ws-hello.json"
    echo "-- $tag: HTTP/2 (nghttpd -v) summary"
    "$py" "$helper" h2-summary "$out/$tag-fetch-h2-frames.txt"
    echo "-- $tag: WebSocket upgrade request head"
    sed 's/\r$/\\r/' "$out/$tag-ws-request.txt"
    echo "-- $tag: WebSocket ClientHello JA4: $(sed -n 's/.*"ja4": "\(.*\)".*/\1/p' \
        "$out/$tag-ws-hello.json")"
}

maybe_xvfb() {
    if [ "${CAPTURE_XVFB:-0}" = 1 ]; then
        echo xvfb-run -a
    fi
}

status=0
for b in "${browsers[@]}"; do
    case "$b" in
    chromium)
        major=$(chromium --version 2>/dev/null | sed -n 's/^Chromium \([0-9]*\)\..*/\1/p')
        echo "capture: $(chromium --version 2>/dev/null)"
        profile=$(mktemp -d "$work/chromium-profile.XXXXXX")
        headless=(--headless)
        [ "${CAPTURE_XVFB:-0}" = 1 ] && headless=()
        # shellcheck disable=SC2046
        capture chromium "$major" $(maybe_xvfb) chromium "${headless[@]}" \
            --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update \
            --disable-sync --ignore-certificate-errors \
            --user-data-dir="$profile" || status=1
        ;;
    firefox)
        major=$(firefox-esr --version 2>/dev/null | sed -n 's/^Mozilla Firefox \([0-9]*\)\..*/\1/p')
        echo "capture: $(firefox-esr --version 2>/dev/null)"
        profile=$(mktemp -d "$work/firefox-profile.XXXXXX")
        certutil -N -d "sql:$profile" --empty-password
        certutil -A -d "sql:$profile" -n testca -t C,, -i ca.pem
        headless=(--headless)
        [ "${CAPTURE_XVFB:-0}" = 1 ] && headless=()
        # shellcheck disable=SC2046
        capture firefox "$major" $(maybe_xvfb) firefox-esr "${headless[@]}" \
            --no-remote --profile "$profile" || status=1
        ;;
    *)
        echo "capture: unknown browser $b (chromium, firefox)" >&2
        status=2
        ;;
    esac
done

# (c) and the Chromium counterpart: how each WebSocket hello differs from the
# navigation hello captured next to hello_capture.py (if it is there).
for f in "$out"/chromium*-ws-hello.json "$out"/firefox*-ws-hello.json; do
    [ -e "$f" ] || continue
    nav="$(dirname "$hello_capture")/$(basename "$f" -ws-hello.json).json"
    if [ -f "$nav" ]; then
        echo "-- $nav (navigation) vs $(basename "$f") (WebSocket)"
        "$py" "$helper" compare "$nav" "$f"
    fi
done
exit "$status"
