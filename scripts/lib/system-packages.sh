# Debian packages Bitgoeul uses beyond Python: bubblewrap (the job sandbox), and for the browser
# tests Chromium with CJK fonts (Korean pages).  Sourced by scripts/demo, scripts/test and
# .ci/run, which call:
#
#   ensure_system_packages "WHAT THEY ARE FOR" PACKAGE...
#
# Packages already here are left alone.  Missing ones are installed with apt-get when this runs
# as root or may use sudo without a password; otherwise (or if apt-get fails) it prints what is
# missing and the command that installs it, and returns 1, so that the caller decides whether
# to go on without them.  It never asks for a password.

# Whether PACKAGE is usable here: the program Bitgoeul looks for, else dpkg's record.
system_package_present() {
  case "$1" in
    bubblewrap) command -v bwrap >/dev/null 2>&1 ;; # what compute.sandbox looks for
    chromium) [ -x /usr/bin/chromium ] ;;           # what scripts/test hands the browser tests
    fonts-noto-cjk) _dpkg_installed "$1" || fc-list 2>/dev/null | grep -q "Noto Sans CJK" ;;
    *) _dpkg_installed "$1" ;;
  esac
}

_dpkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q " installed$"
}

# "" when root, "sudo -n" when sudo works without a password; fails when neither.
_system_packages_sudo() {
  if [ "$(id -u)" -eq 0 ]; then
    echo ""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "sudo -n"
  else
    return 1
  fi
}

ensure_system_packages() {
  local purpose="$1" package sudo
  shift
  local missing=()
  for package in "$@"; do
    system_package_present "$package" || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0

  if command -v apt-get >/dev/null 2>&1 && sudo="$(_system_packages_sudo)"; then
    echo "Installing ${missing[*]} ($purpose) with apt-get ..."
    # env inside sudo: sudo's env_reset would drop a DEBIAN_FRONTEND set in front of it.
    if $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}"; then
      local still=()
      for package in "${missing[@]}"; do
        system_package_present "$package" || still+=("$package")
      done
      [ "${#still[@]}" -eq 0 ] && return 0
      missing=("${still[@]}")
    fi
    echo "apt-get did not install ${missing[*]}; see its messages above." >&2
  fi

  echo "Missing: ${missing[*]} ($purpose)." >&2
  if command -v apt-get >/dev/null 2>&1 || command -v dpkg-query >/dev/null 2>&1; then
    local as_root="sudo "
    [ "$(id -u)" -eq 0 ] && as_root=""
    echo "  Install with: ${as_root}apt-get install ${missing[*]}" >&2
  else
    echo "  Install the packages that provide them with this system's package manager." >&2
  fi
  return 1
}
