"""A person's visit to the demo page in a real browser: Debian's Chromium, driven by Playwright."""

import math
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from demo import app
from shared.training import SAMPLE_REVIEWS
from test_demo import lstm_folder, predictors, serving  # noqa: F401  the tiny model and server of the HTTP tests

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; nothing here downloads a browser build
# Without the background-networking flags, Chromium's own calls out (updates, sync, QUIC) stall on a closed network.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI has no {CHROMIUM}: .ci/run installs Debian's chromium before the tests")
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium to run the browser test")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def submit_and_read(page: Page) -> tuple[str, dict[str, tuple[float, str]]]:
    """Click Submit and read the answer the way it shows: the heading, and each label's bar and percentage."""
    page.get_by_role("button", name="Submit").click()
    heading = page.get_by_test_id("label-output-value")
    heading.wait_for()
    bars = page.locator("[data-testid$='-confidence-set']").evaluate_all(
        "sets => sets.map(set => [set.querySelector('dt').textContent, set.querySelector('meter').value,"
        " set.querySelector('dd').textContent])")
    return heading.inner_text(), {label: (value, percent) for label, value, percent in bars}


def as_shown(answer: dict[str, float]) -> tuple[str, dict[str, tuple[float, str]]]:
    """What the page must show for one of classify's answers (percentages rounded half up, as JavaScript does)."""
    return max(answer, key=answer.get), {label: (pytest.approx(p), f"{math.floor(p * 100 + 0.5)}%")
                                         for label, p in answer.items()}


@pytest.fixture
def page(browser, predictors):
    """A browser tab on the demo page, served as main serves it; the tab closes before the server does."""
    with serving(predictors) as address:
        tab = browser.new_page()
        tab.set_default_timeout(15_000)
        tab.goto(address)
        yield tab
        tab.close()


@pytest.mark.slow
def test_a_person_types_a_review_then_tries_an_example(page, predictors, capsys):
    review = "A great film, I loved every minute of it."
    page.get_by_label("A movie review").press_sequentially(review)
    assert submit_and_read(page) == as_shown(app.classify(predictors, review))

    page.reload()  # a fresh page, so the example's answer cannot be mistaken for the review's
    page.get_by_role("button", name=SAMPLE_REVIEWS[1]).click()
    expect(page.get_by_label("A movie review")).to_have_value(SAMPLE_REVIEWS[1])  # the server fills it in
    assert submit_and_read(page) == as_shown(app.classify(predictors, SAMPLE_REVIEWS[1]))

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "demo-page.png"
    page.screenshot(path=screenshot, full_page=True)
    with capsys.disabled():  # shown by a passing test too
        print(f"\nthe demo page in Chromium: {screenshot}")
