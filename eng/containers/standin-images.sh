#!/usr/bin/env bash
# Builds local STAND-INS for the container images TaskManager uses, for machines that cannot pull them (no route to
# docker.io or mcr.microsoft.com) but can run podman. TEST DEVICE ONLY: these images are never shipped or pushed.
# They carry the real images' names and tags so that Aspire (AddPostgres), our Dockerfiles and deploy/compose use them
# unchanged, but they are Debian bookworm with the host's own PostgreSQL/.NET/Node.js bits, not the real images, and
# are labelled org.taskmanager.standin=true. A real image already present under a name is never replaced.
#
#   bash eng/containers/standin-images.sh                  # all of them
#   bash eng/containers/standin-images.sh postgres         # only some: postgres node sdk runtime-deps aspnet
#   podman rmi $(podman images -q --filter label=org.taskmanager.standin=true)   # remove them
#
# What it does, each step skipped when already done (a warm run takes a second or two):
#  1. installs podman, runc and debootstrap from apt when missing (root, or sudo);
#  2. makes sure `podman run` works here: when it does not, it writes the two settings this kind of VM needs
#     (default_ulimits = [] and runtime = "runc") to /etc/containers/containers.conf.d/, which podman and Aspire's DCP
#     (it runs the podman CLI) both read without any environment variable;
#  3. debootstraps one Debian bookworm minbase root file system (cached in artifacts/containers/) and imports it;
#  4. builds the stand-ins from eng/containers/standins/*/Containerfile, each rebuilt only when its inputs change.
# DEBIAN_MIRROR overrides the Debian mirror (default: the one apt uses here).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"

say() { printf '[standin-images] %s\n' "$*"; }
step="starting"
trap 'say "FAILED while ${step} (exit code $?)" >&2' ERR

readonly label=org.taskmanager.standin
readonly cache="$repo/artifacts/containers"
readonly standins="$repo/eng/containers/standins"
readonly minbase=localhost/taskmanager-standin/debian:bookworm-minbase
readonly dropin=/etc/containers/containers.conf.d/taskmanager-standin.conf
# The PostgreSQL image Aspire's AddPostgres runs, as recorded in the publish manifest (a test keeps it in step).
postgres_image="$(sed -n 's/.*"image": *"\(docker\.io\/library\/postgres:[^"]*\)".*/\1/p' aspire-manifest.json | head -n 1)"
readonly postgres_image="${postgres_image:-docker.io/library/postgres:18.3}"

usage() {
  cat <<USAGE
usage: $0 [postgres|node|sdk|runtime-deps|aspnet ...]   (default: all)
  postgres      $postgres_image
  node          docker.io/library/node:22-bookworm-slim
  sdk           mcr.microsoft.com/dotnet/sdk:10.0-noble-aot and mcr.microsoft.com/dotnet/sdk:10.0
  runtime-deps  mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled
  aspnet        mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled (built on the runtime-deps stand-in)
USAGE
}

# Stand-in -> the names it is tagged with (the first is the one built).
tags_of() {
  case "$1" in
    postgres) echo "$postgres_image" ;;
    node) echo docker.io/library/node:22-bookworm-slim ;;
    sdk) echo mcr.microsoft.com/dotnet/sdk:10.0-noble-aot mcr.microsoft.com/dotnet/sdk:10.0 ;;
    runtime-deps) echo mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled ;;
    aspnet) echo mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled ;;
  esac
}
dir_of() { case "$1" in sdk) echo dotnet-sdk ;; *) echo "$1" ;; esac; }

wanted=()
for arg in "${@:-postgres node sdk runtime-deps aspnet}"; do
  for name in $arg; do
    case "$name" in
      -h|--help) usage; exit 0 ;;
      postgres|node|sdk|runtime-deps|aspnet) wanted+=("$name") ;;
      *)
        # A full image name is fine too.
        found=""
        for candidate in postgres node sdk runtime-deps aspnet; do
          for tag in $(tags_of "$candidate"); do [ "$tag" = "$name" ] && found="$candidate"; done
        done
        [ -n "$found" ] || { usage >&2; say "unknown image: $name" >&2; exit 2; }
        wanted+=("$found") ;;
    esac
  done
done
# aspnet is built FROM the runtime-deps stand-in.
if [[ " ${wanted[*]} " == *" aspnet "* && " ${wanted[*]} " != *" runtime-deps "* ]]; then
  wanted=(runtime-deps "${wanted[@]}")
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { say "Run as root or install sudo: installing packages, debootstrap and $dropin need root." >&2; exit 1; }
  sudo="sudo"
fi

step="installing podman, runc and debootstrap"
apt_updated=false
apt_install() {
  if [ "$apt_updated" = false ]; then
    $sudo apt-get update -q
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}
missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing from apt: ${missing[*]}"
  apt_install "${missing[@]}"
fi
say "podman $(podman version --format '{{.Client.Version}}')"

# One lock per user and machine (podman's image store is too): two test runs, from this tree or a copy of it, or a
# person and a test, asking at once build each image once.
mkdir -p "$cache"
exec 9>"${TMPDIR:-/tmp}/taskmanager-standin-images-$(id -u).lock"
if ! flock --nonblock 9; then
  say "waiting for another run of this script to finish"
  flock 9
fi

image_label() { podman image inspect --format "{{ index .Labels \"$2\" }}" "$1" 2>/dev/null || true; }

step="making the Debian bookworm minbase image"
if [ "$(image_label "$minbase" "$label")" = true ]; then
  say "base: $minbase (present)"
else
  tarball="$cache/debian-bookworm-minbase.tar"
  if [ ! -s "$tarball" ]; then
    mirror="${DEBIAN_MIRROR:-}"
    if [ -z "$mirror" ]; then
      # The mirror apt already uses (deb822 .sources or one-line .list), e.g. http://deb.debian.org/debian.
      mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*\/debian\/\?\)$/\1/p' | head -n 1)"
      [ -n "$mirror" ] || mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\/debian\/\?\) bookworm .*/\2/p' | head -n 1)"
      mirror="${mirror:-http://deb.debian.org/debian}"
    fi
    rootfs="$cache/rootfs-bookworm-minbase"
    say "debootstrap --variant=minbase bookworm from $mirror (about half a minute)"
    $sudo rm -rf "$rootfs"
    $sudo debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { tail -n 20 "$cache/debootstrap.log" >&2; false; }
    $sudo rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    $sudo tar --numeric-owner -C "$rootfs" -cf "$tarball.partial" .
    $sudo rm -rf "$rootfs"
    mv "$tarball.partial" "$tarball"
  fi
  say "importing $tarball as $minbase"
  podman import --quiet --change "LABEL $label=true" --change 'CMD ["bash"]' "$tarball" "$minbase" >/dev/null
fi

step="checking that podman can run containers here"
run_probe() { podman run --rm --network=none "$minbase" true 2>&1; }
if probe_error="$(run_probe)"; then
  say "podman run works"
else
  say "podman run fails (${probe_error##*$'\n'}); writing $dropin"
  $sudo mkdir -p "$(dirname "$dropin")"
  printf '%s\n' \
    '# Written by eng/containers/standin-images.sh (TaskManager): on this kind of VM podman cannot set container' \
    '# rlimits ("error setting rlimit type 7") and crun fails ("cgroups in hybrid mode not supported").' \
    '[containers]' 'default_ulimits = []' '[engine]' 'runtime = "runc"' | $sudo tee "$dropin" >/dev/null
  if [ "$(podman info --format '{{.Host.OCIRuntime.Name}}')" != runc ]; then
    # An older podman that reads no drop-ins: use a file callers pass on instead.
    cp "$dropin" "$cache/containers.conf"
    export CONTAINERS_CONF="$cache/containers.conf"
    say "this podman ignores $(dirname "$dropin"); callers must set CONTAINERS_CONF=$CONTAINERS_CONF"
  fi
  probe_error="$(run_probe)" || { say "podman run still fails: $probe_error" >&2; false; }
  say "podman run works with the settings"
fi

# What an image is built from: its Containerfile folder, its base and the host files it copies. A stand-in whose
# recorded inputs differ is rebuilt.
inputs_of() {
  local name="$1"
  {
    (cd "$standins/$(dir_of "$name")" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    case "$name" in
      aspnet) podman image inspect --format '{{.Id}}' "$(tags_of runtime-deps)" ;;
      *) podman image inspect --format '{{.Id}}' "$minbase" ;;
    esac
    case "$name" in
      node) sha256sum "$(readlink -f "$(command -v node)")"; cat "$(npm_dir)/package.json" | sha256sum ;;
      sdk) ls -d /usr/share/dotnet/sdk/* /usr/share/dotnet/shared/*/*; sha256sum /etc/ssl/certs/ca-certificates.crt ;;
      aspnet) ls -d /usr/share/dotnet/shared/*/* /usr/share/dotnet/host/fxr/* ;;
    esac
  } | sha256sum | cut -c1-16
}
npm_dir() { local d; for d in /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm; do [ -d "$d" ] && { echo "$d"; return; }; done; return 1; }

# The host files a stand-in copies must be there.
check_host() {
  case "$1" in
    node) command -v node >/dev/null 2>&1 && npm_dir >/dev/null \
      || { say "the node stand-in copies this machine's node and npm, and they are missing (eng/prerequisites.sh installs them)" >&2; false; } ;;
    sdk|aspnet) [ -x /usr/share/dotnet/dotnet ] \
      || { say "the $1 stand-in copies this machine's .NET from /usr/share/dotnet, and it is not there" >&2; false; } ;;
  esac
}

# Host files a build reads through bind mounts (/host/...), so the build context stays small; apt's lists and
# downloads are kept between builds.
mounts_of() {
  case "$1" in
    node) echo "-v $(readlink -f "$(command -v node)"):/host/node:ro -v $(npm_dir):/host/npm:ro" ;;
    sdk) echo "-v /usr/share/dotnet:/host/dotnet:ro -v /etc/ssl/certs/ca-certificates.crt:/host/ca-certificates.crt:ro" ;;
    aspnet) echo "-v /usr/share/dotnet:/host/dotnet:ro" ;;
  esac
  case "$1" in
    postgres|sdk|runtime-deps)
      mkdir -p "$cache/apt/lists" "$cache/apt/archives"
      echo "-v $cache/apt/lists:/var/lib/apt/lists -v $cache/apt/archives:/var/cache/apt/archives" ;;
  esac
}

smoke_test() {
  case "$1" in
    postgres) podman run --rm --entrypoint sh "$2" -c 'postgres --version && pg_isready --version && id postgres' ;;
    node) podman run --rm "$2" sh -c 'node --version && npm --version' ;;
    sdk) podman run --rm "$2" dotnet --version ;;
    runtime-deps) podman run --rm "$2" sh -c 'id && pwd' ;;
    aspnet) podman run --rm "$2" dotnet --list-runtimes ;;
  esac
}

for name in "${wanted[@]}"; do
  read -r -a tags <<<"$(tags_of "$name")"
  step="building the $name stand-in (${tags[0]})"
  check_host "$name"
  inputs="$(inputs_of "$name")"
  present_label="$(image_label "${tags[0]}" "$label")"
  if podman image exists "${tags[0]}" && [ "$present_label" != true ]; then
    say "$name: ${tags[0]} is a real image, left alone"
    continue
  fi
  if [ "$present_label" = true ] && [ "$(image_label "${tags[0]}" "$label.inputs")" = "$inputs" ]; then
    say "$name: ${tags[0]} (present)"
  else
    say "$name: building ${tags[0]}"
    started=$SECONDS
    base=$minbase
    [ "$name" = aspnet ] && base="$(tags_of runtime-deps)"
    # shellcheck disable=SC2046 # the mounts are whole words
    podman build --network=host --no-cache --layers=false --pull=never \
      --build-arg "BASE=$base" --label "$label=true" --label "$label.inputs=$inputs" \
      $(mounts_of "$name") -t "${tags[0]}" "$standins/$(dir_of "$name")" >"$cache/build-$name.log" 2>&1 \
      || { tail -n 30 "$cache/build-$name.log" >&2; false; }
    smoke_test "$name" "${tags[0]}" | sed "s/^/[standin-images]   /"
    say "$name: built in $((SECONDS - started)) s"
  fi
  for tag in "${tags[@]:1}"; do
    if ! podman image exists "$tag" || [ "$(image_label "$tag" "$label")" = true ]; then
      podman tag "${tags[0]}" "$tag"
    fi
  done
done

step="finishing"
# Stand-ins replaced by a rebuild.
podman image prune --force --filter "label=$label=true" >/dev/null
say "ready: $(for name in "${wanted[@]}"; do tags_of "$name"; done | tr '\n' ' ')"
