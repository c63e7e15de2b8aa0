#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine (as root) or an existing one for ai-how:
# system packages (Python, and what libvirt-python builds with), a virtual environment in
# .venv, and ai-how installed into it with its test extra. Safe to run again: it only does
# what is missing.
set -euo pipefail
# Under `env -i` PATH is bash's default but not exported: Python, pip and dpkg need it exported.
export PATH
cd "$(dirname "$0")/.."

VENV=${AI_HOW_VENV:-.venv}
SYSTEM_PACKAGES=(python3 python3-venv python3-pip python3-dev gcc pkg-config libvirt-dev make)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages: ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"setup: ai-how needs Python >= 3.11, this python3 is {sys.version.split()[0]}")
PY

digest=$(sha256sum pyproject.toml | cut -d' ' -f1)

# Run by a user who can write the cache (root on CI), a clone's .venv is its own small
# environment: ai-how installed from this clone (seconds), reading the packages ai-how depends
# on from an environment kept outside the clone, named by pyproject.toml, Python and machine,
# made once (2 GB, about 2 minutes) and holding no clone's code, so that two clones never run
# each other's. A .venv made this way is made again when pyproject.toml changes, and one of the
# old kind (a link into the cache) is replaced; a link to anywhere else is the user's, and stays.
# AI_HOW_VENV_CACHE="" turns it off.
cache=${AI_HOW_VENV_CACHE-/var/cache/ai-how/venvs}
old_link() { [ -L "$VENV" ] && [ "$(dirname "$(readlink -f "$VENV")")" = "$(readlink -f "$cache")" ]; }
if [ -n "$cache" ] && { old_link || { [ -e "$VENV/.ai-how-dependencies" ] &&
     [ "$(cat "$VENV/.ai-how-installed" 2>/dev/null)" != "$digest" ]; }; }; then
  echo "setup: making $VENV again (pyproject.toml changed, or it is a link into the shared cache)"
  rm -rf "$VENV"
fi
if [ -n "$cache" ] && [ ! -e "$VENV" ] && mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ]; then
  key=$({ echo "$digest"; python3 --version; uname -m; echo "dependencies only"; } | sha256sum | cut -c1-16)
  cached="$cache/$key"
  (
    flock 9
    if [ ! -e "$cached/.ai-how-complete" ]; then
      rm -rf "$cached"
      echo "setup: making $cached, ai-how's dependencies (kept for the next clone of this pyproject.toml)"
      python3 -m venv "$cached"
      "$cached/bin/python" -m pip install -q --upgrade pip
      "$cached/bin/python" -m pip install -q -e ".[test]"
      "$cached/bin/python" -m pip uninstall -q -y ai-how
      touch "$cached/.ai-how-complete"
    fi
  ) 9>"$cache/.lock"
  echo "setup: making $VENV on the dependencies in $cached; installing this clone's ai-how into it"
  python3 -m venv --without-pip "$VENV"
  venv=$(cd "$VENV" && pwd)
  purelib='import sysconfig; print(sysconfig.get_path("purelib"))'
  echo "import site; site.addsitedir('$("$cached/bin/python" -c "$purelib")')" \
    >"$("$venv/bin/python" -c "$purelib")/ai_how_dependencies.pth"
  # The dependencies' commands (pytest, ansible-playbook, ...), run by this environment's Python.
  for script in "$cached"/bin/*; do
    [ -f "$script" ] || continue
    name=$(basename "$script")
    case $name in python*|activate*|Activate.ps1|ai-how) continue ;; esac
    # A compiled command (no "#!") is linked as it is, its first "line" never read.
    if [ "$(head -c 2 "$script")" = "#!" ] && [ "$(head -n 1 "$script")" = "#!$cached/bin/python" ]; then
      { echo "#!$venv/bin/python"; tail -n +2 "$script"; } >"$venv/bin/$name"
      chmod 755 "$venv/bin/$name"
    else
      ln -s "$script" "$venv/bin/$name"
    fi
  done
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
  echo "$cached" >"$VENV/.ai-how-dependencies"
  echo "$digest" >"$VENV/.ai-how-installed"
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.ai-how-installed"
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  echo "setup: installing ai-how and its test tools into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  echo "$digest" > "$stamp"
fi
