"""The main job trains, evaluates on the real test split and writes its model and curves."""


import keras
import pytest

from shared import quickstart


@pytest.mark.slow
@pytest.mark.real_data
def test_main_job_trains_and_saves(tmp_path):
    accuracy = quickstart.main(["--epochs", "2", "--output", str(tmp_path)])
    assert 0.8 < accuracy < 1.0  # two epochs measured 0.847 on the 25,000 test reviews
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert reloaded.count_params() == quickstart.build_model().count_params()
