"""The Chinese edition as a student sees it: the released notebook opened in a real JupyterLab in a real
browser, its headings and text in Chinese characters (drawn with a font that has them, not as empty
boxes) and its formulas typeset by MathJax."""

import shutil

import pytest

from course.layout import EDITIONS, NOTEBOOK, Stage
from tests import COURSE
from tests.browser import browser_page, jupyterlab

pytestmark = pytest.mark.slow  # a JupyterLab server and a browser

CHINESE = next(edition for edition in EDITIONS if edition.language == "zh_CN")
LOAD_MS = 60_000

# Draws `text` in the font of the element `selector` on a canvas and returns the pixels. Without a font
# that has Chinese characters, each is drawn as the same empty box as a private-use code point.
DRAW = """([selector, text]) => {
  const canvas = document.createElement("canvas");
  canvas.width = 240;
  canvas.height = 48;
  const pen = canvas.getContext("2d");
  pen.font = "32px " + getComputedStyle(document.querySelector(selector)).fontFamily;
  pen.fillText(text, 4, 38);
  return canvas.toDataURL();
}"""


def test_the_chinese_notebook_shows_its_text_in_chinese_characters_and_typesets_its_formulas(tmp_path):
    home = tmp_path / "home"
    shutil.copytree(COURSE.path(Stage.RELEASE, None, CHINESE.assignment), home / CHINESE.assignment)
    with jupyterlab(home) as url, browser_page() as page:
        page.goto(url.replace("/lab?", f"/lab/tree/{CHINESE.assignment}/{NOTEBOOK}.ipynb?"))
        title = page.locator(".jp-RenderedMarkdown h1").first
        title.wait_for(timeout=LOAD_MS)
        assert title.inner_text().startswith("正则化"), title.inner_text()

        heading = ".jp-RenderedMarkdown h1"
        assert page.evaluate(DRAW, [heading, "正则化"]) != page.evaluate(DRAW, [heading, "\ue000\ue001\ue002"])

        formulas = page.locator(".jp-RenderedMarkdown mjx-container")
        formulas.first.wait_for(timeout=LOAD_MS)  # MathJax typesets each markdown cell as it is rendered
        cost = page.locator(".jp-RenderedMarkdown", has_text="代价函数").filter(has=page.locator("mjx-container"))
        cost.first.scroll_into_view_if_needed()
        assert cost.count() >= 1
        raw = page.locator(".jp-RenderedMarkdown", has_text="\\frac")
        assert raw.count() == 0  # no formula left as TeX source

        shot = tmp_path / "chinese-notebook.png"
        page.screenshot(path=str(shot))
        assert shot.read_bytes().startswith(b"\x89PNG")
        print(f"screenshot: {shot}")
