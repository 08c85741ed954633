#!/usr/bin/env bash
# Install Playground for this user (no root, no Python needed): the app goes to ~/.local/opt/playground,
# its launcher to ~/.local/share/applications (the desktop's application menu), its icon to the hicolor theme,
# its AppStream metadata to ~/.local/share/metainfo, and a `playground` command to ~/.local/bin (unless one is
# there already). Run it from the unpacked folder: ./install.sh. Undo with ~/.local/opt/playground/uninstall.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
app=${PLAYGROUND_INSTALL_DIR:-$HOME/.local/opt/playground}
bin=$HOME/.local/bin

[[ -x "$here/playground" ]] || { echo "install.sh: no playground executable beside me in $here" >&2; exit 1; }
if [[ "$here" != "$app" ]]; then
    mkdir -p "$(dirname "$app")"
    rm -rf "$app.new"
    cp -a "$here" "$app.new"
    rm -rf "$app"
    mv "$app.new" "$app"
fi

mkdir -p "$data/applications" "$data/icons/hicolor" "$data/metainfo"
# The launcher runs the installed executable by its full path (quoted: a home folder may have spaces).
sed "s|^Exec=.*|Exec=\"$app/playground\" %f|" "$app/share/applications/playground.desktop" \
    > "$data/applications/playground.desktop"
cp -r "$app/share/icons/hicolor/." "$data/icons/hicolor/"
cp "$app/share/metainfo/io.github.playground.metainfo.xml" "$data/metainfo/"

if [[ ! -e "$bin/playground" || "$(readlink "$bin/playground" 2>/dev/null)" == "$app/playground" ]]; then
    mkdir -p "$bin"
    ln -sfn "$app/playground" "$bin/playground"
    linked=yes
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true

echo "Installed Playground in $app"
echo "  launcher: $data/applications/playground.desktop (look for Playground in the application menu)"
if [[ ${linked:-no} == yes ]]; then
    echo "  command:  $bin/playground"
else
    echo "  command:  $bin/playground is something else and was left alone; run $app/playground"
fi
