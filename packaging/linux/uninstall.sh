#!/usr/bin/env bash
# Remove what install.sh installed. Settings, autosaves, cached datasets and your own digits stay (in
# ~/.config/playground, ~/.local/state/playground, ~/.cache/playground and ~/.local/share/playground); delete
# those folders too to remove every trace.
set -euo pipefail
data=${XDG_DATA_HOME:-$HOME/.local/share}
app=${PLAYGROUND_INSTALL_DIR:-$HOME/.local/opt/playground}
bin=$HOME/.local/bin

rm -f "$data/applications/playground.desktop" "$data/metainfo/io.github.playground.metainfo.xml"
for icon in "$data"/icons/hicolor/*/apps/playground.png "$data/icons/hicolor/scalable/apps/playground.svg"; do
    rm -f "$icon"
done
if [[ "$(readlink "$bin/playground" 2>/dev/null)" == "$app/playground" ]]; then
    rm -f "$bin/playground"
fi
if [[ -x "$app/playground" && -d "$app/_internal" ]]; then  # only a folder that holds the app
    rm -rf "$app"
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "Removed Playground from $app"
