#!/usr/bin/env bash
# The test suite on CPython 3.14 and 3.15, from a Debian sid root.
#
#   tools/ci/sid_pythons.sh [VERSION...]      # default: 3.14 3.15
#   tools/ci/sid_pythons.sh --root-only       # only make (or check) the root
#
# pyenv here has no 3.14 or 3.15; Debian's sid suite has both (with -dev and
# -venv) and a gcc, from the same Debian mirror as this machine's packages.
#
# 1. The root: SHANXI_SID_ROOT (default /var/cache/shanxi-ci/sid), outside the
#    checkout, made with
#      debootstrap --variant=minbase --include=python3.X,python3.X-dev,
#          python3.X-venv,...,gcc,libc6-dev sid ROOT MIRROR
#    where MIRROR is the URI that /etc/apt/sources.list(.d) gives for this
#    machine's own suite (read at run time: no host is named here).  A root
#    is reused when its stamp file (.shanxi-ci-complete, written last, listing
#    what it was made with) says it is complete and made with the same list;
#    otherwise it is made anew.  SHANXI_SID_REBUILD=1 forces that.
# 2. Into the root, before each use: /etc/resolv.conf (DNS), the CA bundle,
#    the pip configuration (/etc/pip.conf, /etc/xdg/pip, ~/.config/pip,
#    ~/.pip, and the PIP_* environment, which chroot keeps); every local path
#    that configuration names (find-links, file:// indexes, constraints) is
#    bind-mounted read-only when it is a folder, copied when it is a file,
#    and left out when the host has no such path.  /proc and /dev are
#    mounted; a trap unmounts everything, whatever happens.
# 3. For each Python: tools/ci/testenv.py, run by that Python inside the root
#    from a copy of the checkout, makes or reuses its environment of test
#    peers (/var/cache/shanxi-ci/venvs/sid-X.Y inside the root, made again
#    when the interpreter or the test extra changes), builds shanxi into it
#    with SHANXI_STRICT=1 (the C compiled with -Werror, so a warning on this
#    Python fails) and runs `python -m pytest $PYTEST_ARGS` from the copy,
#    under this script's environment (SHANXI_SLOW=1 and the like pass
#    through).  A peer with no release for this Python is reported and left
#    out (its tests skip).
#
# Exit status: 0 when every Python built and passed; 1 otherwise.  pytest's
# exit 5 (no tests ran) is a failure.  One summary line per Python.
# Needs root (debootstrap, chroot, mount).
set -uo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
root=${SHANXI_SID_ROOT:-/var/cache/shanxi-ci/sid}
stamp=$root/.shanxi-ci-complete
only_root=0
versions=()
for arg in "$@"; do
    case $arg in
    --root-only) only_root=1 ;;
    *) versions+=("$arg") ;;
    esac
done
[ ${#versions[@]} -gt 0 ] || versions=(3.14 3.15)
# The root always carries both (one root serves every run).
include=python3.14,python3.14-dev,python3.14-venv,python3.15,python3.15-dev,python3.15-venv
include=$include,gcc,libc6-dev
export SHANXI_STRICT=${SHANXI_STRICT:-1}
export PIP_DISABLE_PIP_VERSION_CHECK=1

die() {
    echo "sid_pythons.sh: $*" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"

# ------------------------------------------------------------------ the mirror

# The URI of the first apt source that carries this machine's own suite (its
# codename from /etc/os-release): one-line sources.list entries and deb822
# .sources files alike.
host_mirror() {
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || return 1
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [options] URI SUITE COMPONENTS...
        awk -v want="$codename" '
            $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                          if ($(i + 1) == want) { print $i; exit } }' "$f"
    done | head -n 1 | grep . && return 0
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # stanzas separated by blank lines; URIs: and Suites: fields
        awk -v want="$codename" '
            function flush() { if (uris != "" && enabled && (" " suites " ") ~ (" " want " ")) {
                                   split(uris, u, " "); print u[1]; found = 1; exit } }
            BEGIN { RS = ""; FS = "\n" }
            { uris = ""; suites = ""; enabled = 1
              for (i = 1; i <= NF; i++) {
                  line = $i; if (line ~ /^#/) continue
                  if (line ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", line); uris = line }
                  else if (line ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", line); suites = line }
                  else if (line ~ /^Enabled:[ \t]*no/) enabled = 0 }
              flush() }' "$f"
    done | head -n 1 | grep .
}

# ------------------------------------------------------------------ mounts

mounts=()
cleanup() {
    local i
    # in reverse order: a bind inside a bind comes off first
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null || true
    done
    mounts=()
    [ -n "${work:-}" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bind_ro() { # HOST_PATH: the same path inside the root, read-only
    local target=$root$1
    mountpoint -q "$target" && return 0
    mkdir -p "$target"
    mount --bind "$1" "$target" && mounts+=("$target") || return 1
    mount -o remount,bind,ro "$target" 2>/dev/null || true
}

mount_system() {
    mkdir -p "$root/proc" "$root/dev"
    if ! mountpoint -q "$root/proc"; then
        mount -t proc proc "$root/proc" && mounts+=("$root/proc") || die "cannot mount /proc"
    fi
    if ! mountpoint -q "$root/dev"; then
        # venv and pip want /dev/null and /dev/urandom
        mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && mounts+=("$root/dev") \
            || die "cannot bind /dev"
    fi
}

# ------------------------------------------------------------------ the root

make_root() {
    if [ -f "$stamp" ] && [ "$(sed -n 's/^include=//p' "$stamp")" = "$include" ] \
        && [ "${SHANXI_SID_REBUILD:-0}" != 1 ]; then
        echo "== sid: reusing the root at $root ($(sed -n 's/^made=//p' "$stamp"))"
        return 0
    fi
    if ! command -v debootstrap >/dev/null; then
        echo "== sid: installing debootstrap"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; } \
            || die "could not install debootstrap"
    fi
    local mirror
    mirror=$(host_mirror) || die "no Debian mirror for this machine's suite in /etc/apt/sources.list(.d)"
    echo "== sid: debootstrap --variant=minbase sid $root (mirror from apt's sources)"
    rm -rf "$root"
    mkdir -p "$(dirname "$root")"
    local log
    log=$(mktemp)
    if ! debootstrap --variant=minbase --include="$include" sid "$root" "$mirror" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 40 "$root/debootstrap/debootstrap.log" >&2
        rm -f "$log"
        die "debootstrap failed"
    fi
    rm -f "$log"
    printf 'made=%s\ninclude=%s\n' "$(date -u +%FT%TZ)" "$include" >"$stamp.tmp"
    mv "$stamp.tmp" "$stamp"
}

# The host's DNS, CA bundle and pip configuration, and every local path that
# configuration names.
configure_root() {
    local f
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    for f in /etc/ssl/certs/ca-certificates.crt "${SSL_CERT_FILE:-}" "${REQUESTS_CA_BUNDLE:-}" \
        "${PIP_CERT:-}"; do
        [ -n "$f" ] && [ -f "$f" ] || continue
        mkdir -p "$root$(dirname "$f")"
        cp -L "$f" "$root$f"
    done
    local confs=() home_in_root=$root$HOME
    for f in /etc/pip.conf /etc/xdg/pip "$HOME/.config/pip" "$HOME/.pip"; do
        [ -e "$f" ] || continue
        rm -rf "$root$f"
        mkdir -p "$root$(dirname "$f")"
        cp -rL "$f" "$root$f"
        confs+=("$f")
    done
    mkdir -p "$home_in_root"
    # Local paths named by the pip configuration: absolute paths and file://
    # URLs in the PIP_* variables and in the configuration files.
    local paths
    paths=$( {
        env | sed -n 's/^PIP_[A-Z_]*=//p'
        for f in "${confs[@]+"${confs[@]}"}"; do
            find "$f" -type f -exec cat {} + | grep -v '^[[:space:]]*[#;]'
        done
    } | tr ' \t=,' '\n\n\n\n' | sed -n 's|^file://||; /^\//p' | sort -u)
    local p
    while IFS= read -r p; do
        [ -n "$p" ] || continue
        p=${p%/}
        case $p in /proc* | /dev* | /sys* | "$root"*) continue ;; esac
        if [ -d "$p" ]; then
            # A PEP 503 index (ROOT/simple/NAME/index.html) links its files
            # relative to ROOT: bind ROOT.
            [ "$(basename "$p")" = simple ] && p=$(dirname "$p")
            bind_ro "$p" || echo "   (could not bind $p: left out)"
        elif [ -f "$p" ]; then
            mkdir -p "$root$(dirname "$p")"
            cp -L "$p" "$root$p"
        fi
        # a path the host does not have is left out: pip skips it there too
    done <<<"$paths"
}

make_root
if [ "$only_root" = 1 ]; then
    exit 0
fi
mount_system
configure_root

# ------------------------------------------------------------------ each Python

# (a kept root whose /tmp was cleaned away gets it back, sticky as it was)
install -d -m 1777 "$root/tmp"
work=$(mktemp -d "$root/tmp/shanxi-ci.XXXXXX")
inner=${work#"$root"}
mkdir -p "$work/src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/src"
# The source article beside the checkout, where the tests look for it.
if [ -d "$src/../shared" ]; then
    cp -rL "$src/../shared" "$work/shared"
fi

in_root() { # COMMAND...: run in the root, from the copy of the checkout
    chroot "$root" /usr/bin/env HOME="$HOME" PATH=/usr/local/bin:/usr/bin:/bin \
        TMPDIR=/tmp LANG=C.UTF-8 sh -c 'cd "$0/src" && exec "$@"' "$inner" "$@"
}

summary=()
failed=0
started=$SECONDS
for v in "${versions[@]}"; do
    py=/usr/bin/python$v
    printf '\n=== Python %s (sid root)\n' "$v"
    if [ ! -x "$root$py" ]; then
        summary+=("FAIL  $v     (no $py in the root)")
        failed=1
        continue
    fi
    # The environment of test peers inside the root, kept there between runs.
    # shellcheck disable=SC2086  # PYTEST_ARGS: words, as for all_pythons.sh
    in_root "$py" tools/ci/testenv.py "/var/cache/shanxi-ci/venvs/sid-$v" "$inner/src" \
        ${PYTEST_ARGS:-} | tee "$work/$v.out"
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
    line=$(sed -n 's/^RESULT //p' "$work/$v.out" | tail -n 1)
    summary+=("${line:-FAIL  $v     (testenv.py printed no result)}")
    [ -n "$line" ] || failed=1
done

printf '\n=== CPython %s from Debian sid (%ds in all)\n' "${versions[*]}" $((SECONDS - started))
printf '%s\n' "${summary[@]}"
exit $failed
