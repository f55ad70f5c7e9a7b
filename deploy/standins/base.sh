#!/usr/bin/env bash
# The stand-in base image: a minimal Debian bookworm made by debootstrap from the mirror apt
# already uses, imported as a Docker image. Built once per machine: it is kept while this
# script is unchanged (the image carries the script's hash as a label).
#
# The host's own CA certificates (/usr/local/share/ca-certificates/*.crt) are added, and pip
# is told to trust the system bundle: where outbound TLS passes an intercepting proxy, pip
# inside a build fails without them. The official images elsewhere need neither.
set -euo pipefail
IMAGE=${1:-orders-saga-standin-base:bookworm}
HERE="$(cd "$(dirname "$0")" && pwd)"
hash=$(cat "$0" /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -c1-16)

if [ "$(docker image inspect -f '{{index .Config.Labels "inputs"}}' "$IMAGE" 2>/dev/null)" = "$hash" ]; then
  echo "standins: $IMAGE is up to date"
  exit 0
fi

mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
mirror=${mirror:-$(awk '/^deb / && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /tmp/orders-saga-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "standins: debootstrap bookworm from $mirror (about 75 s) ..."
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" \
  > "$root.log" 2>&1 || { tail -n 20 "$root.log"; exit 1; }
rm -f "$root.log"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
fi
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$root/etc/pip.conf"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import --change "LABEL inputs=$hash" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
echo "standins: built $IMAGE"
