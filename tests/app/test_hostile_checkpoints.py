"""Network ▸ Load Weights on every hostile checkpoint of the corpus (tests/core/hostile_checkpoints.py): the
window stays up, says which file and why in the error dialog (as for a graph file that cannot be opened), and
keeps its document and the weights it had."""

from __future__ import annotations

import json

from playground.core.graph import graph_to_dict

from ..core.hostile_checkpoints import GOOD, MARKER, PipeWatchdog, write_corpus
from .conftest import make_window


def test_load_weights_refuses_every_hostile_checkpoint_and_keeps_document_and_weights(qtbot, settings, dialogs,
                                                                                      tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    window = make_window(qtbot, settings)
    window.workbench.files.new_from_preset("mlp")
    window.workbench.shapes.run_now()
    training, document = window.training, window.workbench.document

    dialogs.choose_file(str(corpus[GOOD].path))
    window.acts.load_weights.trigger()
    weights = training.weights
    assert weights is not None and not dialogs.texts("critical")
    graph_before = json.dumps(graph_to_dict(document.graph), sort_keys=True)
    modified_before, undo_before = document.modified, document.undo_stack.count()

    failures = []
    watchdog = PipeWatchdog(corpus["pipe"].path if "pipe" in corpus else None)
    with watchdog:
        for name, case in corpus.items():
            if name == GOOD:
                continue
            shown = len(dialogs.shown)
            dialogs.choose_file(str(case.path))
            window.acts.load_weights.trigger()
            new = dialogs.shown[shown + 1:]  # after the file dialog
            if [kind for kind, _, _ in new] != ["critical"]:
                failures.append(f"{name}: dialogs {new}")
                continue
            text = new[0][2]
            if not text.startswith(f"{case.path}: ") or case.says not in text or "\n" in text:
                failures.append(f"{name}: {text!r}")
            if training.weights is not weights:
                failures.append(f"{name}: the weights in use changed")
    assert not failures, "\n".join(failures)
    assert not watchdog.hung, "Load Weights opened the named pipe and waited for a writer"
    assert window.isVisible()
    assert json.dumps(graph_to_dict(document.graph), sort_keys=True) == graph_before
    assert document.modified == modified_before and document.undo_stack.count() == undo_before
    assert not (tmp_path / "corpus" / MARKER).exists()
