"""Calibrated imputation: a sensor worn at the start of a recording, then lost.

:mod:`~mimo_lib.calibration.stretch` cuts and checks the calibration stretch;
:mod:`~mimo_lib.calibration.maps` fits linear maps at one lag on it (a
baseline, and the per-subject correction of an uncalibrated imputation). The
model itself is adapted by :func:`mimo_lib.training.adaptation.adapt_imputer`
through :meth:`mimo_lib.run.TrainedRun.calibrated`.
"""
