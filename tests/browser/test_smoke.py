"""The browser starts and axe-core loads (no server, no database): the quickest browser test,
and the one tests/test_browser_fallback.py runs without a browser to see the loud line."""


def test_the_browser_starts_and_axe_runs(page, axe_check):
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><p>ok</p></main>')
    assert page.inner_text("p") == "ok"
    axe_check(page, "a minimal page")
