"""Linear maps at one lag, and respiration derived from a PPG: the baselines beside calibrated imputation."""

import numpy as np
import pytest

from mimo_lib.calibration.maps import fit_lag_map
from mimo_lib.config import SyntheticConfig
from mimo_lib.data.sources.synthetic import simulate_subject
from mimo_lib.evaluation.derived_respiration import METHODS, ppg_respiration
from mimo_lib.evaluation.fidelity import DETECTORS, span_rates


def test_a_lag_map_recovers_sign_gain_offset_and_delay():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(2, 500))
    target = np.full(500, np.nan)
    target[5:] = 1.0 - 2.0 * source[0, :-5] + 0.5 * source[1, :-5]
    target[100:110] = np.nan  # not finite: left out of the fit
    fitted = fit_lag_map(source, target, max_lag=8)
    assert fitted.lag == 5 and fitted.r == pytest.approx(1.0)
    np.testing.assert_allclose([*fitted.coefficients, fitted.intercept], [-2.0, 0.5, 1.0], atol=1e-9)
    mapped = fitted.apply(source)
    assert np.isnan(mapped[:5]).all()
    np.testing.assert_allclose(mapped[5:100], target[5:100])
    leading = fit_lag_map(source[0, :-5], source[0, 5:], max_lag=8)  # the target runs ahead of its source
    assert leading.lag == -5


def test_a_lag_map_names_what_it_cannot_fit():
    with pytest.raises(ValueError, match="sources have 10 samples, the target 12"):
        fit_lag_map(np.zeros(10), np.zeros(12), 2)
    with pytest.raises(ValueError, match="no lag in ±2 leaves 10 samples"):
        fit_lag_map(np.zeros(20), np.full(20, np.nan), 2)


@pytest.mark.parametrize("method", METHODS)
def test_respiration_derived_from_a_ppg_breathes_at_the_generators_rate(method):
    cohort = SyntheticConfig(n_subjects=3, duration_s=96, sampling_rate=50.0, seed=0)
    subject = simulate_subject(cohort, 2)
    derived = ppg_respiration(subject.frame["PPG"].to_numpy(), 50.0, method)
    assert derived.shape == (len(subject.frame),) and np.isfinite(derived).all()
    rates = span_rates(DETECTORS["resp"](derived, 50.0), 50.0, len(derived), 32.0)
    assert np.abs(rates - subject.physiology["respiratory_rate"]).max() < 1.0


def test_derived_respiration_refuses_what_it_cannot_use():
    with pytest.raises(ValueError, match="unknown PPG-derived respiration 'ppgx'"):
        ppg_respiration(np.zeros(100), 50.0, "ppgx")
    with pytest.raises(ValueError, match="1 non-finite samples"):
        ppg_respiration(np.r_[np.zeros(99), np.nan], 50.0)
