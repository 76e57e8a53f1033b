"""The message catalogue: every message students read is translated, and an edition whose language.txt
names zh_CN speaks Chinese, in its tests, in the grader's verdicts and on its feedback page, while the
English edition stays word for word (and the feedback page byte for byte) as it was."""

import copy
import html
import re
import shutil
import string
from datetime import datetime, timedelta

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

from course.grader.feedback import (
    HideHiddenTests,
    ScoresFromGrading,
    ShortenGradeCellErrors,
    _feedback_exporter,
    render_feedback,
)
from course.grader.job import GradingResult, Status
from course.i18n.catalogue import DOMAIN, LANGUAGE_FILE, LOCALE_DIR, SOURCE_LANGUAGE
from course.i18n.upkeep import compile_catalogue, extract, po_path, read_message_catalogue, update_catalogue
from course.layout import (
    ASSIGNMENT,
    EDITIONS,
    NOTEBOOK,
    Stage,
    course_config,
    course_modules,
    helper_sources,
)
from course.record.attention import not_a_notebook
from course.record.gradebook import not_graded_because
from course.rules import Lateness, policy_sentences, rules_lines
from course.service.serve import error_page, held_page
from tests import COURSE, COURSE_ROOT
from tests.translated import pattern, translated

LANGUAGE = "zh_CN"
UNREADABLE = "the file is not valid JSON (truncated or edited outside Jupyter?)"  # as course.grader.autograde says it


def placeholders(text):
    """The replacement fields of a str.format text: (name, conversion, format spec) of each."""
    return sorted(
        (name, conversion or "", spec or "")
        for _, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    )


@pytest.fixture(scope="module")
def catalogue():
    return read_message_catalogue(po_path(LANGUAGE), LANGUAGE)


def test_every_message_has_a_translation_with_the_same_placeholders(catalogue):
    extracted = [message.id for message in extract(COURSE_ROOT) if message.id]
    assert len(extracted) > 100
    for msgid in extracted:
        entry = catalogue.get(msgid)
        assert entry is not None, msgid
        assert entry.string and not entry.fuzzy, msgid
        assert placeholders(entry.string) == placeholders(msgid), msgid


def test_the_catalogue_holds_exactly_the_messages_of_the_code(catalogue, tmp_path):
    assert not catalogue.obsolete
    assert {message.id for message in catalogue if message.id} == {
        message.id for message in extract(COURSE_ROOT) if message.id
    }
    copied = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, copied)
    # python -m course messages finds nothing to translate and nothing to change
    assert update_catalogue(LANGUAGE, COURSE_ROOT, locale_dir=copied) == 0
    assert po_path(LANGUAGE, copied).read_bytes() == po_path(LANGUAGE).read_bytes()


def test_the_students_helper_reads_the_catalogues_as_the_package_lays_them_out():
    """translation.py, which students get, cannot import the package: it states the same names itself."""
    with course_modules(COURSE_ROOT):
        import translation

    assert (translation.DOMAIN, translation.LANGUAGE_FILE, translation.SOURCE_LANGUAGE) == (
        DOMAIN,
        LANGUAGE_FILE,
        SOURCE_LANGUAGE,
    )


def test_the_committed_mo_is_the_compiled_po():
    path = po_path(LANGUAGE)
    assert path.with_suffix(".mo").read_bytes() == compile_catalogue(path, LANGUAGE)


# --- the helpers in an edition's folder ------------------------------------------------------------


def wrong_cost(A3, Y, parameters, lambd):
    """The classic mistake: lambd/m where the cost needs lambd/(2m)."""
    import numpy as np

    from reg_utils import compute_cost

    squares = sum(np.sum(np.square(parameters[f"W{layer}"])) for layer in (1, 2, 3))
    return compute_cost(A3, Y) + lambd / Y.shape[1] * squares


@pytest.fixture
def edition(tmp_path):
    """A folder with the released helpers, as a notebook or the grader finds them; language.txt is the test's."""
    for name, original in helper_sources(COURSE_ROOT).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, tmp_path / name)
    return tmp_path


def failure_of_the_public_cost_test(folder):
    with course_modules(folder):
        import public_tests

        with pytest.raises(AssertionError) as failure:
            public_tests.compute_cost_with_regularization_test(wrong_cost)
    return str(failure.value)


def english_of(chinese, catalogue):
    """The msgids whose translation can have given `chinese`."""
    return [m.id for m in catalogue if m.id and pattern(m.string).fullmatch(chinese)]


def test_a_failing_public_test_speaks_the_editions_language(edition, catalogue):
    english = failure_of_the_public_cost_test(edition)
    assert english.startswith("compute_cost_with_regularization: the cost is ")
    assert english.endswith(
        ", but it should be 1.7864859451590758.\nHint: the L2 term uses lambd/m; the cost needs lambd/(2m)."
    )

    (edition / "language.txt").write_text("zh_CN\n")
    chinese = failure_of_the_public_cost_test(edition)
    assert chinese.startswith("compute_cost_with_regularization：代价为 ")
    assert chinese.endswith(
        "，但应该是 1.7864859451590758。\n提示：L2 正则项用的是 lambd/m；代价函数需要的是 lambd/(2m)。"
    )
    assert chinese.split("代价为 ")[1].split("，")[0] == english.split("the cost is ")[1].split(",")[0]  # same number
    hint = chinese.split("\n")[-1].removeprefix("提示：")
    assert english_of(hint, catalogue) == [english.split("\n")[-1].removeprefix("Hint: ")]  # one msgid per hint


def test_the_helpers_and_the_grader_speak_chinese_too(edition, capsys):
    (edition / "language.txt").write_text("zh_CN\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "def backward_propagation_with_dropout(:",
            metadata={"nbgrader": {"grade_id": "backward_propagation_with_dropout"}},
            outputs=[nbformat.v4.new_output("error", ename="SyntaxError", evalue="invalid syntax (<cell>, line 1)")],
        )
    ]
    with course_modules(edition):
        import handin
        import reg_utils
        from course.grader import judge

        def stub(*arguments):
            raise NotImplementedError

        stub.__name__ = "forward_propagation_with_dropout"
        assert reg_utils.exercises_done(stub) is False
        handin.hidden_tests("compute_cost_with_regularization", wrong_cost)
        not_run = judge._definition_not_run(nb, "backward_propagation_with_dropout")
        replay_error = pytest.raises(handin.JudgingError, handin.Replay("compute_cost_with_regularization", []), 1)
    assert capsys.readouterr().out == (
        "请先完成练习 3（forward_propagation_with_dropout）：这个可选部分要用到它。\n"
        "评分时还会用更多用例测试 compute_cost_with_regularization。\n"
    )
    assert (
        str(not_run)
        == "定义 backward_propagation_with_dropout 的单元格未能运行：第 1 行出现 SyntaxError（invalid syntax）"
    )
    assert str(replay_error.value).startswith(
        "compute_cost_with_regularization：测试进行了一次学生内核中没有发生过的调用"
    )


# --- the feedback page ---------------------------------------------------------------------------


def autograded(student):
    return nbformat.read(COURSE.notebook(Stage.AUTOGRADED, student, ASSIGNMENT), as_version=4)


def nbgrader_page(nb, student):
    """The page nbgrader's own feedback template makes, everything else as render_feedback sets it up."""
    config = copy.deepcopy(_feedback_exporter("en").config)
    config.HTMLExporter.template_name = "feedback"
    exporter = HTMLExporter(config=config)
    for preprocessor in (ScoresFromGrading, HideHiddenTests, ShortenGradeCellErrors, CSSHTMLHeaderPreprocessor):
        exporter.register_preprocessor(preprocessor, enabled=True)
    resources = {
        "nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "student": student},
        "metadata": {"name": NOTEBOOK},
    }
    return exporter.from_notebook_node(nb, resources=resources)[0].encode()


@pytest.mark.parametrize("student", ["half-missing-in-cost", "untouched", "full-marks"])
def test_the_english_page_is_nbgraders(student):
    nb = autograded(student)
    page = render_feedback(copy.deepcopy(nb), student, ASSIGNMENT)
    assert page == nbgrader_page(copy.deepcopy(nb), student)
    assert page == COURSE.feedback_page(student, ASSIGNMENT).read_bytes()


def test_the_english_page_is_nbgraders_with_a_task_cell_too():
    nb = autograded("half-missing-in-cost")
    task = {
        "task": True,
        "grade": False,
        "solution": False,
        "locked": True,
        "grade_id": "task-1",
        "points": 2,
        "score": 1,
    }
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("Describe the boundary.", metadata={"nbgrader": task}))
    assert render_feedback(copy.deepcopy(nb), "ann", ASSIGNMENT) == nbgrader_page(copy.deepcopy(nb), "ann")


def test_the_chinese_page_translates_the_headings():
    page = render_feedback(autograded("untouched"), "untouched", ASSIGNMENT, LANGUAGE).decode()
    for heading in (
        "<h4>Regularization（得分：0.0 / 40.0）</h4>",
        '<a href="#test_compute_cost_with_regularization">测试单元格</a> （得分：0.0 / 10.0）',
        '<a href="#comment-compute_cost_with_regularization">评语</a>',
        '<span class="nbgrader-label">学生答案</span>',
        '<span class="nbgrader-label">评分单元格：<code>test_compute_cost_with_regularization</code></span>',
        '得分：0.0 / 10.0 <a href="#top">（回到顶部）</a>',
        "<b>评语：</b> <p>未作答。</p>",
    ):
        assert heading in page, heading
    for english in (
        "(Score:",
        ">Test cell<",
        ">Student's answer<",
        "Grade cell:",
        ">(Top)<",
        "Comments:",
        "No response.",
    ):
        assert english not in page, english


def test_what_the_grader_tells_a_student_itself_is_in_the_editions_language():
    """A file that is not a notebook, and the grading service's notices, say in Chinese what they say
    in English (tests/translated.py works the Chinese out from the catalogue's messages)."""
    english, chinese = (
        GradingResult("amy", edition.assignment, "", Status.INVALID, problems=[not_a_notebook(UNREADABLE)])
        for edition in EDITIONS
    )
    assert not_graded_because(chinese) == translated(not_graded_because(english), LANGUAGE)
    assert "有效的 JSON" in not_graded_because(chinese)
    handed_in, due = datetime(2027, 1, 16, 8, 0), datetime(2027, 1, 15, 23, 59)
    late = Lateness(due, timedelta(days=1, hours=2), handed_in, 3 * 86400 + 61, 12.5)
    policy = {language: policy_sentences(course_config(COURSE_ROOT), language) for language in ("en", LANGUAGE)}
    rules = {language: rules_lines(late, language, policy[language], (2, 5)) for language in ("en", LANGUAGE)}
    assert rules[LANGUAGE] == [translated(line, LANGUAGE) for line in rules["en"]]
    assert "迟交了 3 天 0 小时 02 分钟" in "".join(rules[LANGUAGE])
    pages = {
        "kept, not graded yet": lambda language: held_page(
            language, handed_in, 5, "2027-01-16", datetime(2027, 1, 17), False, rules_lines(late, language)
        ),
        "could not be graded": lambda language: error_page(language, handed_in, ["the grading worker died 2 times"]),
    }
    for title, page in pages.items():
        english, chinese = (paragraphs(page(language)) for language in ("en", LANGUAGE))
        assert chinese == [translated(text, LANGUAGE) for text in english] and chinese != english
        assert f"<h1>{NOTEBOOK}: {translated(title, LANGUAGE)}</h1>" in page(LANGUAGE).decode()
        assert '<html lang="zh-CN">' in page(LANGUAGE).decode()


def paragraphs(page: bytes) -> list[str]:
    """The paragraphs of a notice page, as text."""
    return [html.unescape(text) for text in re.findall(r"<p>(.*?)</p>", page.decode())]
