#!/bin/sh
# Assembles the firelane image's root filesystem in DEST from the firelane binary BINARY.
#
#   scripts/image-rootfs.sh DEST BINARY
#
# The Dockerfile's build stage runs this and its final stage is `FROM scratch` + `COPY --from=build
# /rootfs /`; tests/e2e/image_rootfs.rs runs it too (with the binary cargo built for the tests) and
# then runs firelane and the FireLens health checks inside DEST with chroot, so the image and its
# test cannot drift apart. It needs, on the machine that runs it (Debian bookworm: the rust:*-bookworm
# builder and CI): ldd, strip (binutils), a static busybox (busybox-static; BUSYBOX overrides the
# path) and /etc/ssl/certs/ca-certificates.crt (ca-certificates).
#
# What DEST gets:
#   /usr/local/bin/firelane          BINARY without its debug sections (symbols kept for backtraces)
#   /usr/bin/curl, /usr/bin/nc       links to firelane, which answers as a small curl and nc
#   /bin/busybox, /bin/sh, ...       a static busybox: the shell of CMD-SHELL health checks, a few tools
#   /lib*, ...                       the shared libraries firelane links (glibc, libgcc_s), as ldd finds them
#   /etc/ssl/certs/ca-certificates.crt, /etc/passwd, /etc/group, /etc/nsswitch.conf
#   /fluent-bit/configs, /fluent-bit/parsers   config/image/ (what aws-for-fluent-bit images ship)
#   /fluent-bit/etc, /var/run, /tmp            where FireLens mounts its config, the socket, scratch space
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 DEST BINARY" >&2
    exit 2
fi
dest=$1
binary=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
busybox=${BUSYBOX:-/bin/busybox}
ca_bundle=/etc/ssl/certs/ca-certificates.crt

# Applets linked in /bin besides sh. No nc or wget-as-curl: firelane is /usr/bin/nc and /usr/bin/curl.
applets="cat cut date du echo env false grep head hostname id kill ls mkdir printf ps pwd rm sed
sleep sort tail test timeout tr true uname wc wget"

if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then
    echo "$0: $dest is not empty" >&2
    exit 1
fi
if ! "$busybox" --list >/dev/null 2>&1 || ldd "$busybox" >/dev/null 2>&1; then
    echo "$0: $busybox is not a static busybox (install busybox-static)" >&2
    exit 1
fi

mkdir -p "$dest/usr/local/bin" "$dest/usr/bin" "$dest/bin" "$dest/etc/ssl/certs" \
    "$dest/fluent-bit/etc" "$dest/var/run" "$dest/tmp" "$dest/root"
chmod 1777 "$dest/tmp"

# The binary, without debug info (the release profile keeps line tables for profiling).
strip --strip-debug -o "$dest/usr/local/bin/firelane" "$binary"
chmod 0755 "$dest/usr/local/bin/firelane"
ln -s ../local/bin/firelane "$dest/usr/bin/curl"
ln -s ../local/bin/firelane "$dest/usr/bin/nc"

# The shared libraries and the loader, at the paths the binary names (copies, not links).
ldd "$binary" | while read -r first arrow second _; do
    case "$first" in
        /*) lib=$first ;;                                  # the loader: "/lib64/ld-linux-x86-64.so.2 (0x...)"
        *) if [ "$arrow" != "=>" ]; then
               continue                                    # linux-vdso.so.1: in the kernel
           elif [ "${second#/}" = "$second" ]; then
               echo "$0: $binary needs $first, which ldd does not find" >&2
               exit 1
           fi
           lib=$second ;;
    esac
    mkdir -p "$dest$(dirname "$lib")"
    cp -L "$lib" "$dest$lib"
done

install -m 0755 "$busybox" "$dest/bin/busybox"
ln -s busybox "$dest/bin/sh"
for applet in $applets; do
    ln -s busybox "$dest/bin/$applet"
done

cp -L "$ca_bundle" "$dest/etc/ssl/certs/ca-certificates.crt"
cat >"$dest/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false
EOF
cat >"$dest/etc/group" <<'EOF'
root:x:0:
nonroot:x:65532:
EOF
mkdir -p "$dest/home/nonroot"
chown 65532:65532 "$dest/home/nonroot"
echo "hosts: files dns" >"$dest/etc/nsswitch.conf"

# The files task definitions name in aws-for-fluent-bit images.
cp -R "$repo/config/image/." "$dest/fluent-bit/"
