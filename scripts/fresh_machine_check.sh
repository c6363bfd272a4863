#!/usr/bin/env bash
# Proves the README's Quick start on a bare Debian 12: creates a minimal root with debootstrap
# (--variant=minbase, from the mirror the host's apt uses), copies in the host's DNS
# configuration and CA trust store, clones the commit under test into it and runs the README's
# two Quick-start commands verbatim inside it with chroot. Fails when either command fails or the
# main job's final test accuracy is below 0.89.
#
# The bare root (before anything of loom's is installed) is cached as a tarball in
# $LOOM_FRESH_ROOT_CACHE (default /var/cache/loom/debian12-minbase.tar) and reused by later runs
# on the same machine; every package loom needs is installed by loom's own scripts inside the
# root, every time. Needs root (debootstrap, chroot, mount).
# Usage: scripts/fresh_machine_check.sh [commit (default HEAD)]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
commit=$(git rev-parse "${1:-HEAD}")
min_accuracy=0.89
[ "$(id -u)" -eq 0 ] || { echo "fresh_machine_check: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
scripts/install_deps.sh debootstrap

# The Debian mirror of the host's apt sources (deb822 or one-line format).
host_mirror() {
  local uris
  uris=$({
    awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }' /etc/apt/sources.list.d/*.sources 2> /dev/null || true
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null || true
  })
  local mirror
  mirror=$(grep -E '/debian/?$' <<< "$uris" | sed -n 1p || true)
  echo "${mirror:-http://deb.debian.org/debian}"
}

work=$(mktemp -d /var/tmp/loom-fresh.XXXXXX)
root=$work/root
mounts=()
cleanup() {
  local i busy=0 process
  # Processes still running inside the root (the check was interrupted) hold its mounts.
  for process in /proc/[0-9]*; do
    [ "$(readlink "$process/root" 2> /dev/null)" = "$root" ] && kill -9 "${process#/proc/}" 2> /dev/null
  done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2> /dev/null || umount -l "${mounts[i]}" || busy=1
  done
  # Never delete through a mount that is still there (it would be the host's /dev or /proc).
  if [ "$busy" -eq 0 ] && ! grep -q " $work/" /proc/mounts; then
    rm -rf --one-file-system "$work"
  else
    echo "fresh_machine_check: left $work in place: something is still mounted under it" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cache=${LOOM_FRESH_ROOT_CACHE:-/var/cache/loom/debian12-minbase.tar}
if [ ! -s "$cache" ]; then
  mirror=$(host_mirror)
  echo "fresh root: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$work/base" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log"; exit 1; }
  mkdir -p "$(dirname "$cache")"
  tar -C "$work/base" -cf "$cache.tmp" . && mv "$cache.tmp" "$cache"
  rm -rf --one-file-system "$work/base"
else
  echo "fresh root: reusing the bare Debian 12 root cached in $cache"
fi
mkdir "$root"
tar -C "$root" -xf "$cache"

# DNS and the CA trust store (the bundle and the local CAs that update-ca-certificates keeps).
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/etc/ssl/certs" "$root/usr/local/share/ca-certificates"
cp -rL /etc/ssl/certs/. "$root/etc/ssl/certs/"
[ -d /usr/local/share/ca-certificates ] && cp -rL /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"

git clone -q --no-hardlinks "$repo" "$root/root/loom"
git -C "$root/root/loom" checkout -q "$commit"

mount -t proc proc "$root/proc"; mounts+=("$root/proc")
mount -t sysfs sysfs "$root/sys"; mounts+=("$root/sys")
mount --bind /dev "$root/dev"; mounts+=("$root/dev")
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"; mounts+=("$root/dev/pts")
mount -t tmpfs tmpfs "$root/dev/shm"; mounts+=("$root/dev/shm")

# A clean environment, as on a new machine, keeping the host's CA and proxy settings.
environment=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb)
for name in SSL_CERT_FILE SSL_CERT_DIR NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO \
  http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -n "${!name:-}" ] && environment+=("$name=${!name}")
done

# The commands of the README's Quick start block, comments stripped.
mapfile -t commands < <(awk '/^## Quick start/ { q = 1 } q && /^```sh/ { b = 1; next } b && /^```/ { exit }
                             b { sub(/[ \t]*#.*$/, ""); if (length($0)) print }' README.md)
[ ${#commands[@]} -eq 2 ] || { echo "fresh_machine_check: the README's Quick start has ${#commands[@]} commands, not 2" >&2; exit 1; }

for command in "${commands[@]}"; do
  echo "fresh root: running '$command'"
  log="$work/$(basename "${command%% *}").log"
  start=$SECONDS
  if ! chroot "$root" /usr/bin/env -i "${environment[@]}" /bin/bash -c "cd /root/loom && $command" > "$log" 2>&1; then
    tail -80 "$log"
    echo "fresh_machine_check: '$command' failed on a bare Debian 12 root" >&2
    exit 1
  fi
  tail -5 "$log"
  echo "fresh root: '$command' passed in $((SECONDS - start)) s"
  if grep -q '^test accuracy: ' "$log"; then
    accuracy=$(awk '/^test accuracy: / { a = $3 } END { print a }' "$log")
    awk -v a="$accuracy" -v m="$min_accuracy" 'BEGIN { exit !(a >= m) }' \
      || { echo "fresh_machine_check: the main job's test accuracy $accuracy is below $min_accuracy" >&2; exit 1; }
    main_job_ran=1
  fi
done
[ "${main_job_ran:-0}" -eq 1 ] || { echo "fresh_machine_check: no command printed the main job's 'test accuracy:'" >&2; exit 1; }
echo "fresh_machine_check: both Quick-start commands pass on a bare Debian 12 root (main job accuracy $accuracy)"
