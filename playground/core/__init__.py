"""The Qt-free core: graph, build, data, train, export. Never imports PySide6 or pyqtgraph."""
