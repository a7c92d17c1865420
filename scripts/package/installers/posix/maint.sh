# Outpost agent package scripts (deb maintainer scripts and rpm scriptlets), POSIX sh. The builders in
# scripts/package/installers/ put OUTPOST_VERSION=… above this file and one call of an outpost_* function below it.
# Everything is under $DPKG_ROOT when dpkg installs into another root (dpkg --root --force-script-chrootless).
# docs/0009-packaging.md, "Installers", explains the decisions.

R="${DPKG_ROOT:-}"
OPT="$R/opt/outpost"
ETC="$R/etc/outpost"
AGENT="$OPT/versions/$OUTPOST_VERSION/outpost-agent"
UNIT=outpost-agent.service

say() { printf 'outpost-agent: %s\n' "$*" >&2; }

# The executable that manages the installed agent: the one `current` points at (it may be a newer self-update),
# else the packaged one.
outpost_exe() {
  if [ -x "$OPT/current/outpost-agent" ]; then printf '%s\n' "$OPT/current/outpost-agent"; else printf '%s\n' "$AGENT"; fi
}

# current -> versions/<packaged version>, swapped atomically (a new link renamed over the old one).
outpost_point_current() {
  ln -sfn "versions/$OUTPOST_VERSION" "$OPT/current.new"
  mv -Tf "$OPT/current.new" "$OPT/current"
}

# /etc/outpost/install.env: OUTPOST_SERVER=, OUTPOST_TOKEN=, OUTPOST_CA_FINGERPRINT=, OUTPOST_UPDATE_ROOT_SHA256=
# lines (optionally quoted).
# Read as data, never sourced. Variables given in the environment of the install win over the file. The file is
# deleted as soon as it is read, whatever happens next: it holds an enrollment token.
outpost_read_env_file() {
  f="$ETC/install.env"
  [ -f "$f" ] || return 0
  if [ -n "$(find "$f" -perm /077 2>/dev/null)" ]; then
    say "warning: $f was readable by other users (create it with mode 0600); deleting it now"
  fi
  file_server='' file_token='' file_fp='' file_root=''
  while IFS= read -r line || [ -n "$line" ]; do
    value=${line#*=}
    case "$value" in
      \"*\") value=${value#\"}; value=${value%\"} ;;
      \'*\') value=${value#\'}; value=${value%\'} ;;
    esac
    case "$line" in
      '' | '#'*) ;;
      OUTPOST_SERVER=*) file_server=$value ;;
      OUTPOST_TOKEN=*) file_token=$value ;;
      OUTPOST_CA_FINGERPRINT=*) file_fp=$value ;;
      OUTPOST_UPDATE_ROOT_SHA256=*) file_root=$value ;;
      *) say "ignoring a line of $f that is not OUTPOST_SERVER=, OUTPOST_TOKEN=, OUTPOST_CA_FINGERPRINT= or OUTPOST_UPDATE_ROOT_SHA256=" ;;
    esac
  done <"$f"
  rm -f "$f"
  OUTPOST_SERVER=${OUTPOST_SERVER:-$file_server}
  OUTPOST_TOKEN=${OUTPOST_TOKEN:-$file_token}
  OUTPOST_CA_FINGERPRINT=${OUTPOST_CA_FINGERPRINT:-$file_fp}
  OUTPOST_UPDATE_ROOT_SHA256=${OUTPOST_UPDATE_ROOT_SHA256:-$file_root}
}

# After the files are in place (deb postinst configure, rpm %post): point `current` at this version, then enroll
# once if credentials were given, restart an enrolled agent on the new version, or say how to enroll.
outpost_configure() {
  outpost_point_current
  OUTPOST_SERVER=${OUTPOST_SERVER:-} OUTPOST_TOKEN=${OUTPOST_TOKEN:-} OUTPOST_CA_FINGERPRINT=${OUTPOST_CA_FINGERPRINT:-}
  OUTPOST_UPDATE_ROOT_SHA256=${OUTPOST_UPDATE_ROOT_SHA256:-}
  outpost_read_env_file
  if [ -n "$OUTPOST_SERVER$OUTPOST_TOKEN" ]; then
    if [ -z "$OUTPOST_SERVER" ] || [ -z "$OUTPOST_TOKEN" ]; then
      say "OUTPOST_SERVER and OUTPOST_TOKEN are both needed to enroll; the files are installed, nothing was enrolled"
      return 1
    fi
    set -- install --server "$OUTPOST_SERVER" --token "$OUTPOST_TOKEN"
    if [ -n "$OUTPOST_CA_FINGERPRINT" ]; then set -- "$@" --ca-fingerprint "$OUTPOST_CA_FINGERPRINT"; fi
    # The release root self-update trusts: fetched from the collector, kept only if it hashes to this pin.
    if [ -n "$OUTPOST_UPDATE_ROOT_SHA256" ]; then set -- "$@" --update-root-sha256 "$OUTPOST_UPDATE_ROOT_SHA256"; fi
    status=0
    "$AGENT" "$@" --silent || status=$?
    unset OUTPOST_TOKEN
    if [ "$status" -ne 0 ]; then
      say "enrolling with $OUTPOST_SERVER failed (exit $status, message above); the token file is deleted: enroll by hand with $OPT/current/outpost-agent install --server URL --token TOKEN --ca-fingerprint SHA256"
      return "$status"
    fi
    return 0
  fi
  if [ -f "$ETC/agent.json" ]; then
    # An upgrade of an enrolled agent: the unit runs /opt/outpost/current/outpost-agent, so a restart switches.
    if [ -z "$R" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      systemctl try-restart "$UNIT" || say "warning: systemctl try-restart $UNIT failed"
    fi
    return 0
  fi
  say "installed $OUTPOST_VERSION in $OPT, not enrolled. Enroll and start the service with:"
  say "  sudo $OPT/current/outpost-agent install --server URL --token TOKEN --ca-fingerprint SHA256 --silent"
  return 0
}

# Before the files go (deb prerm remove, rpm %preun on erase): stop and remove the service. A failure is reported
# but does not block the removal (a package that cannot be removed is worse). $1 = purge to also drop identity.
outpost_unregister() {
  exe=$(outpost_exe)
  [ -x "$exe" ] || return 0
  if [ "${1:-}" = purge ]; then set -- uninstall --purge; else set -- uninstall; fi
  "$exe" "$@" || say "warning: $exe $* failed (exit $?); continuing the removal"
}

# After the files went (deb postrm remove, rpm %postun on erase): what the package manager does not own (the
# `current` link, versions a self-update added). Identity and configuration stay unless $1 = purge.
outpost_cleanup() {
  rm -rf "$OPT"
  if [ "${1:-}" = purge ]; then
    rm -rf "$ETC" "$R/var/lib/outpost" "$R/var/cache/outpost"
  fi
}
