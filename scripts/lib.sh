# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it first thing:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It turns on strict mode, finds the repo root and reports which step/command failed.
set -Eeuo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT_NAME="$(basename "${BASH_SOURCE[1]:-$0}")"
export DEBIAN_FRONTEND=noninteractive

say()  { printf '       %s\n' "$*"; }
warn() { printf ' !     %s\n' "$*" >&2; }
die()  { warn "$SCRIPT_NAME: ${STEP:+[$STEP] }$*"; exit 1; }

_ms() { echo $(( ${EPOCHREALTIME/[.,]/} / 1000 )); }
_fmt_ms() { printf '%d.%01ds' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }
SCRIPT_T0=$(_ms)
STEP="" STEP_T0=0

# `step NAME` prints "-----> NAME" and closes the previous step with its duration.
_close_step() { [ -z "$STEP" ] || say "($STEP: $(_fmt_ms $(( $(_ms) - STEP_T0 ))))"; STEP=""; }
step() { _close_step; STEP="$*"; STEP_T0=$(_ms); printf -- '-----> %s\n' "$*"; }

_on_error() {
  local rc=$1 line=$2 cmd=$3
  trap - ERR
  warn "$SCRIPT_NAME failed${STEP:+ during step '$STEP'}: \`$cmd\` exited $rc (${BASH_SOURCE[1]:-?}:$line)"
  exit "$rc"
}
_on_exit() {
  local rc=$?
  [ -z "${WORK_DIR:-}" ] || rm -rf "$WORK_DIR"
  if [ "$rc" -eq 0 ]; then
    _close_step
    say "$SCRIPT_NAME done in $(_fmt_ms $(( $(_ms) - SCRIPT_T0 )))"
  fi
}
trap '_on_error $? $LINENO "$BASH_COMMAND"' ERR
trap _on_exit EXIT

# make_work_dir: a temp folder in $WORK_DIR, removed when the script exits.
make_work_dir() { WORK_DIR=$(mktemp -d); }

# require_root "$@": go on as root; a non-root caller with passwordless sudo (a CI runner, say)
# has the calling script re-run under sudo, with the same arguments and environment.
require_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    say "not root: re-running $0 under sudo"
    exec sudo -n -E bash "$0" "$@"
  fi
  die "must run as root (try: sudo bash $0)"
}

# wait_for SECONDS CMD...: retry CMD (output hidden) every half second until it succeeds.
wait_for() {
  local deadline=$(( SECONDS + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

# apt_install PKG...: install the packages that are missing; apt-get update at most once per run.
APT_UPDATED=""
apt_install() {
  local missing=() p try
  for p in "$@"; do is_installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  say "apt-get install ${missing[*]}"
  for try in 1 2 3; do
    if [ -z "$APT_UPDATED" ] && apt-get -q update -o DPkg::Lock::Timeout=120; then APT_UPDATED=1; fi
    if apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 "${missing[@]}"; then
      return 0
    fi
    warn "apt-get install failed (attempt $try of 3)"
    APT_UPDATED="" && sleep $(( try * 5 ))
  done
  die "could not install Debian packages: ${missing[*]}"
}

# pip_install_repo VENV [EXTRAS]: create VENV if needed and install this repo into it, not editable.
# Dependencies are (re)resolved only when setup.cfg/pyproject.toml change; the package itself is
# force-reinstalled every time so that a rerun always picks up code changes.
pip_install_repo() {
  local venv=$1 extras=${2:+[$2]} pip="$1/bin/pip" stamp="$1/.dokku-deps" want
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv" || die "python3 -m venv $venv failed"
  want=$(cat "$REPO_ROOT/setup.cfg" "$REPO_ROOT/pyproject.toml" 2>/dev/null | sha256sum | cut -c1-16)"$extras"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing dependencies into $venv"
    "$pip" install -q --upgrade pip setuptools wheel || die "pip could not upgrade pip/setuptools/wheel in $venv"
    "$pip" install -q "$REPO_ROOT$extras" \
      || die "pip install $REPO_ROOT$extras failed (see pip's output above: is setup.cfg/pipeline/ complete?)"
    echo "$want" >"$stamp"
  fi
  # setuptools builds in-tree and keeps build/lib between runs: a deleted module would come back.
  rm -rf "$REPO_ROOT/build" "$REPO_ROOT"/*.egg-info
  "$pip" install -q --upgrade --force-reinstall --no-deps --no-build-isolation "$REPO_ROOT" \
    || die "pip install $REPO_ROOT into $venv failed (see pip's output above: is pipeline/ complete?)"
  rm -rf "$REPO_ROOT/build" "$REPO_ROOT"/*.egg-info
}
