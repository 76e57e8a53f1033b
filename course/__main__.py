"""Command line of the course tool.

  python -m course build    write the translated editions' notebooks, copy the helpers into source/
                            and regenerate release/ of every edition with nbgrader
  python -m course grade    build, autograde every submission under submitted/, write feedback,
                            grades.csv and the class report; exit status 3 if some submissions
                            need attention (not a notebook, kernel killed, grading failed)
  python -m course serve    grade each submission to nbgrader's exchange as it arrives and
                            release its feedback there (see the README's grading service)
  python -m course messages update the translations' catalogues (locale/*/LC_MESSAGES/course.po)
                            from the code and compile them
  python -m course extend STUDENT --days N
                            give a student N more days after the due date, in the gradebook
                            (nbgrader's extension; --days 0 takes it back)
  python -m course stamp ASSIGNMENT DIR
                            write the gradebook's due date into a copy of the release handed out
                            without nbgrader's exchange (release_assignment does it itself)

The gradebook is the one nbgrader_config.py names: SQLite beside it, or $COURSE_DB_URL.
"""

import argparse
import sys
from pathlib import Path

from course.layout import Course, Stage, course_root
from course.service import DEFAULT_ATTEMPTS_PER_DAY, POLL_SECONDS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    every = argparse.ArgumentParser(add_help=False)  # the option every command has
    every.add_argument(
        "--root",
        default="",
        metavar="DIR",
        help="the course folder (default: the current folder, which must hold nbgrader_config.py, as for "
        "nbgrader's commands)",
    )
    commands.add_parser("build", parents=[every], help="regenerate the student release")
    commands.add_parser(
        "messages", parents=[every], help="update the message catalogues from the code and compile them"
    )
    extend = commands.add_parser(
        "extend", parents=[every], help="give a student more time after the due date (nbgrader's extension)"
    )
    extend.add_argument("student", help="the student's id, as in the gradebook")
    extend.add_argument("--days", type=float, required=True, help="days after the due date; 0 takes it back")
    extend.add_argument(
        "--assignment",
        action="append",
        metavar="ASSIGNMENT",
        help="the edition (default: every edition, as a student may hand in either)",
    )
    stamp = commands.add_parser(
        "stamp", parents=[every], help="write the due date into a copy of the release handed out another way"
    )
    stamp.add_argument("assignment", help="the edition the copy is of (regularization, regularization-zh)")
    stamp.add_argument("folder", type=Path, help="the copy's folder, holding the notebook")
    grading = argparse.ArgumentParser(add_help=False, parents=[every])  # the options grade and serve share
    grading.add_argument("--workers", type=int, default=0, help="worker processes (default: all cores)")
    grading.add_argument(
        "--timeout", type=int, default=0, help="seconds a cell may run (default: nbgrader_config.py's)"
    )
    grading.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code without the bubblewrap sandbox (local debugging only)",
    )
    grade = commands.add_parser(
        "grade", parents=[grading], help="build, autograde the class, write feedback and reports"
    )
    grade.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    grade.add_argument(
        "--scheduler",
        default="",
        metavar="ADDRESS",
        help="grade on the workers of this Dask scheduler (tcp://host:8786) instead of local ones",
    )
    grade.add_argument(
        "--full",
        action="store_true",
        help="also run the cells that only train or plot (skipped by default: no score depends on them)",
    )
    serve = commands.add_parser(
        "serve",
        parents=[grading],
        help="grade each submission to nbgrader's exchange as it arrives and release its feedback",
        description="Watch the exchange's inbound folder of this course and assignment; collect, grade, record "
        "each new submission and release its feedback through the exchange, until stopped.",
    )
    serve.add_argument(
        "--exchange", default="", metavar="DIR", help="the exchange root (default: nbgrader_config.py's Exchange.root)"
    )
    serve.add_argument("--once", action="store_true", help="grade what can be graded now, then exit")
    serve.add_argument(
        "--attempts-per-day",
        type=int,
        default=DEFAULT_ATTEMPTS_PER_DAY,
        metavar="N",
        help="graded submissions per student per UTC day; later ones wait for the next day (default: %(default)s)",
    )
    serve.add_argument(
        "--check-owner",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refuse a submission whose files are not owned by the Unix user named like the student (the "
        "default; --no-check-owner only where one account plays every student, with nbgrader's --student)",
    )
    serve.add_argument(
        "--poll", type=float, default=POLL_SECONDS, metavar="S", help="seconds between looks at the exchange"
    )
    args = parser.parse_args(argv)
    root = course_root(args.root)

    if args.command == "build":
        from course.build.release import build_release
        from course.layout import EDITIONS

        build_release(root)
        for edition in EDITIONS:
            print(f"release written to {Course(root).path(Stage.RELEASE, None, edition.assignment)}")
        return 0
    if args.command == "messages":
        from course.i18n.upkeep import LANGUAGES, po_path, update_catalogue

        for language in LANGUAGES:
            missing = update_catalogue(language, root)
            print(f"{po_path(language)}: {missing} messages lack a translation")
        return 0
    if args.command == "extend":
        from course.layout import EDITIONS
        from course.rules import extend

        assignments = args.assignment or [edition.assignment for edition in EDITIONS]
        return extend(root, args.student, assignments, args.days)
    if args.command == "stamp":
        from course.doors.release import stamp

        return stamp(root, args.assignment, args.folder)
    if args.command == "serve":
        from course.service.serve import serve

        return serve(
            root,
            exchange_root=args.exchange,
            once=args.once,
            workers=args.workers,
            attempts_per_day=args.attempts_per_day,
            check_owner=args.check_owner,
            cell_timeout=args.timeout,
            sandbox=not args.no_sandbox,
            poll=args.poll,
        )
    from course.grader.warm import usual_parent  # imports little: the parent's imports overlap the next ones

    parent = None if args.no_sandbox or args.scheduler else usual_parent()
    from course.fanout.grade import grade_class

    return grade_class(
        root,
        warm_parent=parent,
        fork_workers=True,
        workers=args.workers,
        force=args.force,
        cell_timeout=args.timeout,
        scheduler=args.scheduler,
        sandbox=not args.no_sandbox,
        full=args.full,
    )


if __name__ == "__main__":
    sys.exit(main())
