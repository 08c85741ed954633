#!/usr/bin/env bash
# Build Playground as a desktop app: dist/Playground/ (PyInstaller, one folder) and
# dist/Playground-<version>-linux-<arch>.tar.gz, from this checkout, in a fresh virtual environment holding the
# versions pinned in constraints.txt (CPU torch) and packaging/requirements.txt (PyInstaller).
#
#   packaging/build.sh                  # then: packaging/smoke.sh
#
# Environment:
#   PYTHON=python3.11                   the interpreter for the build venv (CPython 3.11, built with --enable-shared)
#   PLAYGROUND_BUILD_VENV=DIR           where the venv goes (default build/packaging/venv; rebuilt every time)
#   PLAYGROUND_REUSE_VENV=1             keep an existing venv (faster rebuilds while working on the spec)
#   PLAYGROUND_TORCH_SPEC="torch==X"    another torch (a CUDA build: see packaging/README.md)
#   PIP_ARGS="..."                      extra arguments for pip install (e.g. --index-url for a CUDA torch)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=build/packaging
venv=${PLAYGROUND_BUILD_VENV:-$work/venv}
python=${PYTHON:-python3.11}
started=$SECONDS

say() { printf 'build.sh: [%4ds] %s\n' $((SECONDS - started)) "$*"; }
quiet_pip() {  # pip, less its warnings about index folders this machine's pip configuration names but lacks
    "$venv/bin/pip" "$@" 2>&1 | sed '/is ignored: it is neither a file nor a directory/d'
}

mkdir -p "$work"
if [[ ${PLAYGROUND_REUSE_VENV:-0} == 1 && -x "$venv/bin/python" ]]; then
    say "reusing the venv $venv"
else
    say "creating a fresh venv $venv with $("$python" -c 'import sys; print(sys.version.split()[0])')"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # The app's own dependencies (pyproject's list, pinned by constraints.txt): not the package itself, which
    # PyInstaller takes from this checkout (packaging/playground.spec).
    "$venv/bin/python" - > "$work/app-requirements.txt" <<'PY'
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
    constraints=(-c constraints.txt)
    if [[ -n ${PLAYGROUND_TORCH_SPEC:-} ]]; then  # another torch: its pin in constraints.txt must not fight it
        grep -v '^torch==' constraints.txt > "$work/constraints-without-torch.txt"
        constraints=(-c "$work/constraints-without-torch.txt")
        # shellcheck disable=SC2086
        quiet_pip install -q ${PIP_ARGS:-} "$PLAYGROUND_TORCH_SPEC"
    fi
    say "installing the pinned dependencies and PyInstaller"
    # shellcheck disable=SC2086
    quiet_pip install -q ${PIP_ARGS:-} "${constraints[@]}" -r "$work/app-requirements.txt" \
        -r packaging/requirements.txt
fi

say "running PyInstaller (packaging/playground.spec)"
rm -rf dist/Playground
"$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist \
    --workpath "$work/pyinstaller" packaging/playground.spec

bundle=dist/Playground
say "adding the desktop files and the install script"
share=$bundle/share
mkdir -p "$share/applications" "$share/metainfo"
cp packaging/linux/playground.desktop "$share/applications/"
cp packaging/linux/io.github.playground.metainfo.xml "$share/metainfo/"
"$venv/bin/python" packaging/linux/make_icons.py resources/icons/app.svg "$share/icons/hicolor"
cp packaging/linux/install.sh packaging/linux/uninstall.sh "$bundle/"

version=$("$venv/bin/python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
tarball=dist/Playground-$version-linux-$(uname -m).tar.gz
say "packing $tarball"
rm -f "$tarball"
tar -C dist -czf "$tarball" Playground

say "done: $root/$bundle ($(du -sh "$bundle" | cut -f1)), $root/$tarball ($(du -sh "$tarball" | cut -f1))"
