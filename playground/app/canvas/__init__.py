"""The drawing canvas with live prediction: draw a digit, see what the network sees and what it thinks.

    predictor = Predictor()                      # a relay thread; the CPU model lives in an inference process
    panel = DigitPanel(predictor)
    predictor.set_model(graph, state_dict, "mnist", version=1)
    ...
    predictor.shutdown()                         # ends both (also done on QApplication.aboutToQuit)
"""

from .bars import ProbabilityBars
from .drawing import RASTER_SIZE, DrawingCanvas
from .panel import DigitPanel
from .predictor import Prediction, Predictor
from .preview import DigitPreview

__all__ = ["RASTER_SIZE", "DigitPanel", "DigitPreview", "DrawingCanvas", "Prediction", "Predictor", "ProbabilityBars"]
