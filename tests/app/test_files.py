"""Files: save and reopen, errors that change nothing, unsaved-change questions, recent files, presets,
autosave and restore, window layout that persists."""

import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from playground.app.autosave import find_leftovers, remove_unheld_locks
from playground.app.editor import commands
from playground.core.graph import dumps_graph, load_graph, save_graph
from tests.app.conftest import make_window

Button = QMessageBox.StandardButton


def edit(window) -> None:
    """Some change worth saving."""
    doc = window.workbench.document
    doc.push(commands.set_param(doc, "conv1", "filters", 48))
    assert window.isWindowModified()


def test_save_as_then_reopen_gives_the_same_file(window, dialogs, tmp_path):
    edit(window)
    target = tmp_path / "my net"
    dialogs.choose_file(str(target))
    window.acts.save.trigger()  # a preset has no file yet: Save asks where
    saved = tmp_path / "my net.json"
    assert saved.is_file()
    assert window.windowTitle() == "Playground — my net.json[*]" and not window.isWindowModified()
    text = saved.read_text(encoding="utf-8")
    assert text == dumps_graph(window.workbench.document.graph)
    assert load_graph(saved).nodes["conv1"].params["filters"] == 48

    window.workbench.files.open_path(str(saved))
    assert dumps_graph(window.workbench.document.graph) == text
    window.acts.save.trigger()  # now it has a file: no question
    assert saved.read_text(encoding="utf-8") == text
    assert window.settings.recent_files()[0] == str(saved.resolve())
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left nothing behind


def test_opening_a_broken_file_reports_the_loader_message_and_changes_nothing(window, dialogs, tmp_path):
    edit(window)
    doc = window.workbench.document
    before, title = dumps_graph(doc.graph), window.windowTitle()
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 2, "nodes": [{"id": "a"}]}', encoding="utf-8")
    dialogs.answer(Button.Discard)  # "save changes first?" — the file is opened only if that is settled
    dialogs.choose_file(str(broken))
    window.acts.open.trigger()
    assert dialogs.texts("critical") == [f"{broken}: nodes[0].kind: missing"]
    assert dumps_graph(doc.graph) == before and window.windowTitle() == title and window.isWindowModified()
    assert doc.undo_stack.count() == 1  # the undo history is intact too


def test_closing_with_unsaved_changes_asks(window, dialogs, tmp_path):
    edit(window)
    dialogs.answer(Button.Cancel)
    assert not window.close()
    assert window.isVisible()
    assert "Save the changes to mnist-cnn (preset) before closing?" in dialogs.texts("warning")[0]
    dialogs.answer(Button.Save)
    dialogs.choose_file("")  # ...then cancels the file dialog: still open
    assert not window.close()
    dialogs.answer(Button.Save)
    dialogs.choose_file(str(tmp_path / "kept.json"))
    assert window.close()
    assert load_graph(tmp_path / "kept.json").nodes["conv1"].params["filters"] == 48


def test_discard_closes_without_saving(window, dialogs):
    edit(window)
    dialogs.answer(Button.Discard)
    assert window.close()


def test_new_asks_first_and_gives_an_empty_network(window, dialogs):
    edit(window)
    dialogs.answer(Button.Cancel)
    window.acts.new.trigger()
    assert len(window.workbench.document.graph.nodes) == 14
    dialogs.answer(Button.Discard)
    window.acts.new.trigger()
    assert window.workbench.document.graph.nodes == {}
    assert window.windowTitle() == "Playground — Untitled[*]" and not window.isWindowModified()
    assert window.workbench.document.undo_stack.count() == 0


def test_new_from_preset_lists_every_preset_with_its_description(window):
    actions = {a.data(): a for a in window.preset_menu.actions()}
    assert set(actions) == set(window.workbench.files.preset_names())
    assert actions["resnet-mini"].toolTip().startswith("A small residual network")
    actions["resnet-mini"].trigger()
    assert window.workbench.document.graph.name == "ResNet mini"
    assert window.windowTitle() == "Playground — resnet-mini (preset)[*]"


def test_open_recent_prunes_missing_files(window, dialogs, tmp_path):
    kept, gone = tmp_path / "kept.json", tmp_path / "gone.json"
    for path in (kept, gone):
        save_graph(load_graph("preset:mlp"), path)
        window.workbench.files.open_path(str(path))
    gone.unlink()
    window.recent_menu.aboutToShow.emit()
    names = [a.text() for a in window.recent_menu.actions() if a.text()]
    assert names == ["kept.json", "&Clear Recent Files"]
    assert "gone.json" in window.statusBar().currentMessage()
    assert window.settings.recent_files() == [str(kept.resolve())]
    kept.unlink()  # vanishes while the menu is open
    window.recent_menu.actions()[0].trigger()
    assert dialogs.texts("critical") == [f"{kept.resolve()} no longer exists; it has been removed from the "
                                         "recent files."]
    assert window.settings.recent_files() == []


def test_an_autosave_is_offered_back_after_a_crash(qtbot, settings, dialogs, tmp_path):
    first = make_window(qtbot, settings)
    edit(first)
    first.workbench.autosaver.save_now()
    (autosave,) = settings.autosave_dir.glob("autosave-*.json")
    assert "48" in autosave.read_text(encoding="utf-8")
    assert find_leftovers(settings.autosave_dir) == []  # its session is still running
    first.workbench.autosaver._lock.unlock()  # the process dies: its lock goes, the autosave stays
    first.hide()

    dialogs.answer(Button.Yes)
    second = make_window(qtbot, settings)
    assert "Unsaved changes to mnist-cnn (preset)" in dialogs.texts("question")[0]
    doc = second.workbench.document
    assert doc.graph.nodes["conv1"].params["filters"] == 48
    assert doc.preset == "mnist-cnn" and second.isWindowModified()
    assert not autosave.exists()  # the old copy is gone; this session protects the work in its own
    assert len(list(settings.autosave_dir.glob("autosave-*.json"))) == 1
    second.workbench.autosaver._lock.unlock()  # ...and crashes as well
    second.hide()

    dialogs.answer(Button.No)  # declining discards the copy
    third = make_window(qtbot, settings)
    assert third.workbench.document.graph.nodes["conv1"].params["filters"] == 32
    assert find_leftovers(settings.autosave_dir) == []


def test_autosave_is_removed_on_save_and_on_a_clean_exit(window, settings, dialogs, tmp_path):
    edit(window)
    window.workbench.autosaver.save_now()
    assert list(settings.autosave_dir.glob("autosave-*.json"))
    dialogs.choose_file(str(tmp_path / "x.json"))
    window.acts.save.trigger()
    assert not list(settings.autosave_dir.glob("autosave-*.json"))
    edit(window)
    window.workbench.autosaver.save_now()
    dialogs.answer(Button.Discard)
    assert window.close()
    assert not list(settings.autosave_dir.glob("autosave-*.json"))


def test_autosave_follows_edits_after_a_delay(window, settings, qtbot):
    window.workbench.autosaver._timer.setInterval(50)
    edit(window)
    qtbot.waitUntil(lambda: bool(list(settings.autosave_dir.glob("autosave-*.json"))), timeout=3000)
    window.workbench.document.undo_stack.undo()  # back to the saved state: nothing to protect
    assert not list(settings.autosave_dir.glob("autosave-*.json"))


def test_docks_can_be_closed_and_restored_from_the_view_menu(window):
    toggle = window.inspector_dock.toggleViewAction()
    assert toggle in window.menus["view"].actions()
    toggle.trigger()
    assert not window.inspector_dock.isVisible()
    toggle.trigger()
    assert window.inspector_dock.isVisible()


def test_window_geometry_and_dock_layout_persist(qtbot, settings):
    from PySide6.QtCore import Qt

    first = make_window(qtbot, settings)
    first.inspector_dock.toggleViewAction().trigger()
    first.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, first.palette_dock)
    screen = first.screen().availableGeometry()
    first.resize(screen.width() - 50, screen.height() - 60)  # restoreGeometry keeps windows on screen
    assert first.close()
    second = make_window(qtbot, settings, resize=False)
    assert not second.inspector_dock.isVisible()
    assert second.dockWidgetArea(second.palette_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert second.size() == first.size()
    second.acts.reset_layout.trigger()
    assert second.inspector_dock.isVisible()
    assert second.dockWidgetArea(second.palette_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert Path(settings.folder, "playground.ini").is_file()


HOLD_LOCK = """
import os, signal, sys, time
from PySide6.QtCore import QLockFile
lock = QLockFile(sys.argv[1])
assert lock.tryLock(0)
print("held", flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)  # killed: the lock file stays behind, naming a dead pid
time.sleep(60)
"""


def _hold(lock: Path, how: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock), how], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    if how == "die":
        process.wait(10)
    return process


def test_locks_of_killed_sessions_with_nothing_unsaved_are_removed_at_start_up(tmp_path):
    folder = tmp_path / "autosave"
    folder.mkdir()
    killed = [folder / f"autosave-killed{i}.lock" for i in range(3)]
    for lock in killed:
        _hold(lock, "die")
    with_work = folder / "autosave-withwork.lock"  # killed too, but its copy holds work one could recover
    _hold(with_work, "die")
    save_graph(load_graph("preset:mlp"), with_work.with_suffix(".json"))
    alive = folder / "autosave-alive.lock"
    holder = _hold(alive, "live")
    try:
        assert all(lock.exists() for lock in killed)
        leftovers = find_leftovers(folder)
        assert not any(lock.exists() for lock in killed)
        assert alive.exists()  # its session is still running
        assert with_work.with_suffix(".json").exists()
        assert [leftover.path for leftover in leftovers] == [with_work.with_suffix(".json")]
        assert remove_unheld_locks(folder) == []
        assert alive.exists()
    finally:
        holder.kill()
        holder.wait()
    assert remove_unheld_locks(folder) == [alive]


TYPE_PROC = """
import sys, time
from PySide6.QtCore import QFileInfo
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit
from playground.app.dialogs import PlainFileIcons, file_dialog

app = QApplication([])
dialog = file_dialog(None, "Save network as", sys.argv[1], "Playground networks (*.json)", save=True)
assert isinstance(dialog.iconProvider(), PlainFileIcons)
dialog.setOption(QFileDialog.Option.DontUseNativeDialog)  # Qt's own dialog, the one that froze
dialog.setViewMode(QFileDialog.ViewMode.Detail)
dialog.show()
QTest.keyClicks(dialog.findChild(QLineEdit, "fileNameEdit"), "/proc/")
dialog.setDirectory("/proc")
end = time.monotonic() + 2
while time.monotonic() < end:
    app.processEvents()
print(dialog.iconProvider().type(QFileInfo("/proc/kmsg")), flush=True)
dialog.reject()
dialog.deleteLater()
app.processEvents()
print("closed", flush=True)
"""


def test_the_file_dialog_lists_proc_without_reading_its_files(tmp_path):
    """Typing /proc/ in Qt's own Save As dialog used to freeze the window: the default icon provider reads each
    file's first bytes to tell its type, and a read of /proc/kmsg blocks for ever."""
    import os

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", TYPE_PROC, str(tmp_path)], capture_output=True, text=True,
                          timeout=30, env=env, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["File", "closed"]


def test_every_file_dialog_of_the_app_is_the_helpers():
    root = Path(__file__).resolve().parents[2] / "playground"
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if "QFileDialog" in p.read_text("utf-8"))
    assert users == ["app/dialogs.py"]
