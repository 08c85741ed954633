"""The Draw dock: draw a digit on the canvas, see what the network sees and what it thinks (live prediction).

    predictor = Predictor()                      # app/predictor: a relay thread; the model is in an inference process
    panel = DigitPanel(predictor)
    predictor.set_model(graph, state_dict, "mnist", version=1)
    ...
    predictor.shutdown()                         # ends both (also done on QApplication.aboutToQuit)
"""

from .bars import ProbabilityBars
from .drawing import RASTER_SIZE, DrawingCanvas
from .panel import DigitPanel
from .preview import DigitPreview

__all__ = ["RASTER_SIZE", "DigitPanel", "DigitPreview", "DrawingCanvas", "ProbabilityBars"]
