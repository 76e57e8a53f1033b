"""Command line: `python -m course build` regenerates the release."""
import argparse

from course.release import build_release


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="copy the helpers into source/ and regenerate release/ with nbgrader")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(f"release written to {build_release()}")


if __name__ == "__main__":
    main()
