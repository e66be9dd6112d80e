"""Command line: check, drift, rules, explain, services, test-rules. The only module that knows argv
and exit codes.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage or
environment error (one line on stderr, never a traceback), 3 the run was incomplete because
orgtrust-lint itself failed on a file (OT003).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from orgtrust_lint import __version__
from orgtrust_lint.errors import UserError

if TYPE_CHECKING:
    from orgtrust_lint.baseline import Baseline, Comparison
    from orgtrust_lint.catalog import Catalog
    from orgtrust_lint.config import ConfigResolver, Settings
    from orgtrust_lint.engine import Rule
    from orgtrust_lint.lint import CheckResult, StdinFile
    from orgtrust_lint.outputs import Context, Output
    from orgtrust_lint.replay import Recording

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_INCOMPLETE = 0, 1, 2, 3


class UsageError(UserError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _codes(value: str) -> list[str]:
    return [code for code in value.split(",") if code.strip()]


def _check_codes(codes: tuple[str, ...], option: str, rules: list[Rule]) -> tuple[str, ...]:
    """Command-line codes are checked like the configuration file's: a typo in a CI flag must not
    select nothing and pass, nor select only rules that 'check' never reports."""
    for code in codes:
        matching = [rule for rule in rules if rule.id.startswith(code)]
        if not matching:
            raise UsageError(f"{option}: no rule is {code} or starts with it (see orgtrust-lint rules)")
        if option == "--select" and all(rule.live for rule in matching):
            only_drift = f"{code} is only reported by 'orgtrust-lint drift', never by 'check'"
            raise UsageError(f"{option}: {only_drift} (see orgtrust-lint rules)")
    return codes


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, got {value!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 process, got {jobs}")
    return jobs


def _timeout(value: str) -> float:
    from orgtrust_lint.live.aws import MAX_TIMEOUT_SECONDS

    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not 0 < seconds <= MAX_TIMEOUT_SECONDS:  # false for nan too, which would disable the deadline
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS:g}, got {value!r}"
        )
    return seconds


def _endpoint_url(value: str) -> str:
    from orgtrust_lint.live.aws import endpoint_url_problem, redact_url

    if problem := endpoint_url_problem(value):
        raise argparse.ArgumentTypeError(f"{redact_url(value)!r} {problem}")
    return value


def _output(value: str) -> Output:
    from orgtrust_lint.outputs import parse_output

    try:
        return parse_output(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_report_options(command: argparse.ArgumentParser) -> None:
    """The options of check and drift that choose what is reported where, and how the run ends."""
    from orgtrust_lint.outputs import FORMATS

    command.add_argument("--format", choices=FORMATS, help="output format on standard output (default: text)")
    command.add_argument(
        "--output",
        "-o",
        type=_output,
        action="append",
        default=[],
        metavar="FORMAT[=FILE]",
        help="also write a report in FORMAT to FILE (repeatable: -o sarif=a.sarif -o junit=a.xml)",
    )
    command.add_argument(
        "--repo-root",
        metavar="DIR",
        help="name files in sarif, github, gitlab, junit from DIR (default: git top level)",
    )
    command.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings (errors still exit 2, 3)")
    command.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="colour text on stdout (default: auto)"
    )


_CHECK_EXIT_CODES = """exit codes:
  0  nothing at or above --fail-on (with --fix --diff: nothing to fix), or --exit-zero
  1  findings at or above --fail-on (with --fix --diff: the diff is not empty)
  2  usage or environment error, one line on stderr
  3  the run was incomplete: orgtrust-lint failed on a file (OT003) or could not read one
"""

_DRIFT_EXIT_CODES = """exit codes:
  0  no drift at or above --fail-on, or --exit-zero
  1  drift findings at or above --fail-on
  2  usage or environment error (credentials, endpoint, timeout), one line on stderr
  3  the run was incomplete: orgtrust-lint failed on a file (OT003) or could not read one
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="orgtrust-lint", description="Lint AWS Organizations trusted access in IaC.")
    parser.add_argument("--version", action="version", version=f"orgtrust-lint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # The epilogs are laid out by hand (one exit code a line): argparse would run them together.
    listed = argparse.RawDescriptionHelpFormatter

    check = commands.add_parser(
        "check",
        help="lint Terraform, CloudFormation templates and Terraform plans",
        epilog=_CHECK_EXIT_CODES,
        formatter_class=listed,
    )
    check.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or directories to lint (default: .); '-' reads stdin"
    )
    _add_report_options(check)
    check.add_argument(
        "--select", type=_codes, action="extend", metavar="CODES", help="only these rules (prefixes work: OT1)"
    )
    check.add_argument("--ignore", type=_codes, action="extend", metavar="CODES", help="skip these rules, e.g. OT105")
    check.add_argument(
        "--fail-on", choices=("error", "warning", "info"), help="lowest severity that fails the run (default: error)"
    )
    check.add_argument("--config", metavar="FILE", help="use this configuration file instead of searching for one")
    check.add_argument("--show-config", metavar="PATH", help="print the configuration that applies to PATH and exit")
    check.add_argument(
        "--require-reason", action="store_true", help="an inline ignore without a reason silences nothing (OT007)"
    )
    check.add_argument("--base", metavar="GIT_REV", help="also check what the change since this revision disables")
    check.add_argument(
        "--plan", metavar="PLAN_JSON", help="read a plan (terraform show -json; '-' for stdin); alone, lint only it"
    )
    check.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="with PATH '-': lint stdin as this file (its format, configuration and module); default stdin.tf",
    )
    check.add_argument(
        "--no-prefilter", action="store_true", help="parse every file, even those that cannot hold a fact"
    )
    check.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    check.add_argument(
        "--jobs", "-j", type=_jobs, metavar="N", help="parse in up to N processes (default: the number of CPUs)"
    )
    check.add_argument("--fix", action="store_true", help="rewrite unambiguous typos (OT101, OT102, OT103) in place")
    check.add_argument("--diff", action="store_true", help="with --fix: show the changes instead of writing them")
    recorded = check.add_mutually_exclusive_group()
    recorded.add_argument("--baseline", metavar="FILE", help="report only findings that are not recorded in FILE")
    recorded.add_argument("--write-baseline", metavar="FILE", help="record today's findings in FILE and exit 0")
    check.add_argument(
        "--baseline-prune", action="store_true", help="with --baseline: remove entries whose finding is gone"
    )

    drift = commands.add_parser(
        "drift",
        help="compare the code with the live organization's trusted access",
        epilog=_DRIFT_EXIT_CODES,
        formatter_class=listed,
    )
    drift.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or directories that declare trusted access (default: .)"
    )
    drift.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    drift.add_argument("--region", help="AWS region for the Organizations endpoint")
    drift.add_argument(
        "--endpoint-url", type=_endpoint_url, help="Organizations endpoint (AWS_ENDPOINT_URL is honoured too)"
    )
    _add_report_options(drift)
    drift.add_argument("--timeout", type=_timeout, default=60.0, help="give up after this many seconds (default 60)")
    drift.add_argument(
        "--select", type=_codes, action="extend", metavar="CODES", help="only these live rules (default: OT4)"
    )
    drift.add_argument("--ignore", type=_codes, action="extend", metavar="CODES", help="skip these rules, e.g. OT404")
    drift.add_argument("--fail-on", choices=("error", "warning", "info"), help="lowest severity that fails the run")
    drift.add_argument("--config", metavar="FILE", help="use this configuration file instead of searching for one")
    drift.add_argument("--no-cache", action="store_true", help="do not read or write the cache")

    rules = commands.add_parser("rules", help="list all rules")
    rules.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    explain = commands.add_parser("explain", help="show a rule's full documentation")
    explain.add_argument("code", metavar="CODE", help="a rule's code (OT101) or name (unknown-service-principal)")
    tests = commands.add_parser("test-rules", help="test rules against the ruleid:/ok: annotations of their fixtures")
    tests.add_argument("paths", nargs="+", metavar="DIR", help="directories of rule files and annotated fixtures")
    services = commands.add_parser("services", help="list the trusted-access principal catalog")
    services.add_argument("principal", nargs="?", help="show every catalog fact about one principal")
    services.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    completion = commands.add_parser("completion", help="print a shell completion script (bash, zsh, fish)")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete in")
    return parser


def _completion(shell: str) -> int:
    from orgtrust_lint.completion import script
    from orgtrust_lint.engine import load_rules

    sys.stdout.write(script(shell, build_parser(), tuple(r.id for r in load_rules())))
    return EXIT_OK


def _effective_jobs(requested: int | None) -> int:
    """--jobs, but never more processes than CPUs: more only adds memory and contention (a
    value of 100000 used to start 2,001 workers)."""
    from orgtrust_lint.parallel import default_jobs

    available = default_jobs()
    if requested is not None and requested > available:
        _say(f"orgtrust-lint: --jobs {requested} is more than the {available} CPU(s) available; using {available}")
        return available
    return requested or available


def _choose_cache(no_cache: bool) -> None:
    """--no-cache reads nothing from the cache: not parsed files, nor rules, catalog or configuration."""
    from orgtrust_lint import trusted_cache

    if no_cache:
        trusted_cache.disable()
    else:
        trusted_cache.enable()


def _say(line: str, stream: TextIO | None = None) -> None:
    """Print one line that quotes outside text (a path, a baseline entry, an endpoint's answer): escaped
    so that it stays one line and can neither drive the terminal nor start a GitHub workflow command."""
    from orgtrust_lint import terminal
    from orgtrust_lint.report.escape import safe_line

    terminal.clear()  # a progress line would run into this one
    print(safe_line(line), file=stream or sys.stderr)


def _use_color(choice: str) -> bool:
    """--color always/never, else as Python 3.13 decides: NO_COLOR, then FORCE_COLOR (each when set and
    not empty), then a terminal that is not TERM=dumb."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def _outputs(args: argparse.Namespace) -> list[Output]:
    """The run's reports (standard output's first); args.format becomes standard output's format.
    Where a person watches the run, its progress shows on stderr (never in a pipe, a CI log or
    beside a machine format)."""
    from orgtrust_lint import terminal
    from orgtrust_lint.outputs import choose

    outputs = choose(args.format, args.output)
    args.format = outputs[0].format
    watched = sys.stdout.isatty() and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    if watched and args.format == "text" and not os.environ.get("CI"):
        terminal.enable(sys.stderr)
    return outputs


def _report_context(args: argparse.Namespace) -> Context:
    from orgtrust_lint.outputs import REPOSITORY_RELATIVE, Context, report_root

    # The repository is looked for only when a report names files from it.
    wanted = args.repo_root is not None or any(o.format in REPOSITORY_RELATIVE for o in args.outputs)
    return Context(__version__, _use_color(args.color), report_root(args.repo_root) if wanted else None)


def _write_report(args: argparse.Namespace, result: CheckResult, comparison: Comparison | None = None) -> CheckResult:
    """Write every report (standard output's first, then the files); a finding a reporter fails on
    becomes an internal-error finding for its file in every report (the others are still reported).
    Returns the result as reported, without the findings the baseline matched."""
    from dataclasses import replace

    from orgtrust_lint import terminal
    from orgtrust_lint.outputs import render

    terminal.disable()  # the run's work is done: no progress line beside the report
    context = _report_context(args)
    plain = replace(context, color=False)  # colour is for a terminal, never for a file

    def render_all(result: CheckResult) -> list[tuple[Output, str]]:
        return [(o, render(o.format, result, comparison, context if o.file is None else plain)) for o in args.outputs]

    try:
        reports = render_all(result)
    except Exception:
        reports = render_all(result := _with_reporting_failures(args.outputs, result, comparison, plain))
    for output, report in reports:
        if output.file is None:
            sys.stdout.write(report)
            continue
        try:
            with open(output.file, "w", encoding="utf-8", errors="surrogateescape") as stream:
                stream.write(report)
        except OSError as exc:
            raise UsageError(f"--output {output}: cannot write {output.file} ({exc.strerror})") from None
    return _without_baselined(result, comparison)


def _with_reporting_failures(
    outputs: list[Output], result: CheckResult, comparison: Comparison | None, context: Context
) -> CheckResult:
    from dataclasses import replace

    from orgtrust_lint.engine import load_rules
    from orgtrust_lint.facts import INTERNAL_ERROR_RULE, Finding, Severity
    from orgtrust_lint.outputs import render

    internal = next(r for r in load_rules() if r.id == INTERNAL_ERROR_RULE)
    findings: list[Finding] = []
    for finding in result.findings:
        try:
            for output in outputs:
                render(output.format, replace(result, findings=[finding], suppressed=[]), comparison, context)
            findings.append(finding)
        except Exception as exc:
            stage = f"reporting {finding.rule} in {output.format} format for"
            message = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            text = internal.message.format(stage=stage, message=message)
            findings.append(Finding(INTERNAL_ERROR_RULE, internal.name, Severity.ERROR, finding.location, text))
    return replace(result, findings=findings)


def _without_baselined(result: CheckResult, comparison: Comparison | None) -> CheckResult:
    if comparison is None:
        return result
    from dataclasses import replace

    return replace(result, findings=[f for f in result.findings if not comparison.is_matched(f)])


def _report_skipped(result: CheckResult) -> None:
    for skipped in result.skipped:
        _say(f"orgtrust-lint: skipped {skipped.path}: {skipped.reason}")


def _exit_code(result: CheckResult, config: Settings | ConfigResolver, exit_zero: bool = False) -> int:
    from orgtrust_lint.config import resolver_for
    from orgtrust_lint.facts import INTERNAL_ERROR_RULE

    if any(f.rule == INTERNAL_ERROR_RULE for f in result.findings) or any(s.incomplete for s in result.skipped):
        return EXIT_INCOMPLETE  # some files were not (fully) checked, whatever else was found; --exit-zero too
    if exit_zero:
        return EXIT_OK
    # Each finding against the fail-on of its own file's configuration (--fail-on sets every file's).
    fail_on = resolver_for(config).for_file
    failing = any(f.severity.rank >= fail_on(f.location.path).fail_on.rank for f in result.findings)
    return EXIT_FINDINGS if failing else EXIT_OK


def _check_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of a lint run, the same for the first run and for the one after --fix."""
    from orgtrust_lint.parallel import default_jobs

    return {
        "base": args.base,
        "plan": args.plan,
        "prefilter": not args.no_prefilter,
        "use_cache": not args.no_cache,
        "jobs": args.jobs or default_jobs(),
    }


def _show_diff(args: argparse.Namespace, result: CheckResult) -> int:
    """--fix --diff: print the fixes as a unified diff and write nothing. As `ruff check --diff` does,
    it fails (exit 1) when there is something to fix and says how much on stderr; the findings it
    cannot fix are for a plain `check` run to report and gate on."""
    from orgtrust_lint.facts import INTERNAL_ERROR_RULE
    from orgtrust_lint.fix import plan_fixes
    from orgtrust_lint.report import plural

    plan = plan_fixes(result, args.paths)
    for note in plan.notes:
        _say(f"orgtrust-lint: {note}")
    sys.stdout.write("".join(fix.diff() for fix in plan))
    _report_skipped(result)
    fixes = sum(len(fix.findings) for fix in plan)
    where = f" in {plural(len(plan.fixes), 'file')}" if plan.fixes else ""
    _say(f"Would fix {plural(fixes, 'problem')}{where}.")
    if any(f.rule == INTERNAL_ERROR_RULE for f in result.findings) or any(s.incomplete for s in result.skipped):
        return EXIT_INCOMPLETE
    return EXIT_FINDINGS if plan.fixes and not args.exit_zero else EXIT_OK


def _fix(args: argparse.Namespace, config: ConfigResolver, result: CheckResult) -> CheckResult:
    """Apply the fixes; return the result of linting again (or ``result`` when nothing was written)."""
    from orgtrust_lint.fix import FixSkipped, plan_fixes, write_fix
    from orgtrust_lint.lint import check
    from orgtrust_lint.report import plural

    plan = plan_fixes(result, args.paths)
    for note in plan.notes:
        _say(f"orgtrust-lint: {note}")
    fixed_findings, files = 0, 0
    stream = sys.stdout if args.format == "text" else sys.stderr  # never inside JSON or SARIF
    for fix in plan:
        try:
            written = write_fix(fix)
        except FixSkipped as exc:
            _say(f"orgtrust-lint: {fix.path} {exc}; left alone")
            continue
        except OSError as exc:  # a full disk, a read-only file system: the original is untouched
            _say(f"orgtrust-lint: cannot write {fix.path} ({exc.strerror}); left unchanged")
            continue
        if written:
            fixed_findings += len(fix.findings)
            files += 1
            _say(f"Fixed {plural(len(fix.findings), 'problem')} in {fix.path}.", stream)
        else:
            _say(f"orgtrust-lint: {fix.path} changed while it was being fixed; left alone")
    if files != 1:  # one file's line says it all
        _say(f"Fixed {plural(fixed_findings, 'problem')} in {plural(files, 'file')}.", stream)
    return check(args.paths, config, **_check_options(args)) if files else result


def _write_baseline(args: argparse.Namespace, result: CheckResult) -> int:
    from orgtrust_lint.baseline import record
    from orgtrust_lint.facts import INTERNAL_ERROR_RULE

    recorded = record(args.write_baseline, result.findings)
    stream = sys.stdout if args.format == "text" else sys.stderr
    _say(f"Recorded {recorded} finding(s) in {args.write_baseline}.", stream)
    # A file orgtrust-lint failed on was not fully checked: its findings are missing from the baseline.
    unchecked = [f for f in result.findings if f.rule == INTERNAL_ERROR_RULE]
    for finding in unchecked:
        _say(f"orgtrust-lint: not recorded: {finding.location}: {finding.message}")
    return EXIT_INCOMPLETE if unchecked else EXIT_OK


def _compare_with_baseline(
    args: argparse.Namespace, config: ConfigResolver, result: CheckResult, baseline: Baseline
) -> Comparison:
    from orgtrust_lint.baseline import FORMAT_VERSION, compare, prune

    comparison = compare(baseline, result, config)
    pruned = prune(baseline, comparison.stale) if args.baseline_prune else None
    for entry in comparison.stale_shown:  # paths as the findings show them, relative to the working directory
        what = f"{entry.rule} {entry.path}: {' '.join(entry.message.split())}"
        if args.baseline_prune:
            _say(f"orgtrust-lint: removed stale baseline entry: {what}")
        else:
            _say(f"orgtrust-lint: stale baseline entry: {what} (fixed? run with --baseline-prune)")
    if pruned is not None and pruned.converted:
        _say(
            f"orgtrust-lint: converted {args.baseline} to version {FORMAT_VERSION}: "
            "its paths are relative to its own directory"
        )
    return comparison


def _stdin_input(args: argparse.Namespace) -> StdinFile | None:
    """The text of `check -` (read here, within the size limit), or None without '-'."""
    if "-" not in args.paths:
        if args.stdin_filename:
            raise UsageError("--stdin-filename only goes with '-' (stdin) as the path")
        return None
    if len(args.paths) > 1:
        raise UsageError("'-' (stdin) cannot be combined with other paths")
    if args.plan == "-":
        raise UsageError("stdin can feed 'check -' or '--plan -', not both")
    if args.fix:
        raise UsageError("--fix cannot rewrite stdin; run it on the file")
    if args.base:
        raise UsageError("--base compares files in git, not stdin")
    from orgtrust_lint.files import SkipFile, read_stream
    from orgtrust_lint.lint import StdinFile

    try:
        data = read_stream(sys.stdin.buffer)
    except SkipFile as exc:
        raise UsageError(f"stdin: {exc}") from None
    return StdinFile.of(data, args.stdin_filename)


def _check(args: argparse.Namespace) -> int:
    from orgtrust_lint.config import load_config, parse_codes
    from orgtrust_lint.engine import rule_ids, rules_with
    from orgtrust_lint.facts import Severity
    from orgtrust_lint.lint import check

    _choose_cache(args.no_cache)
    args.outputs = _outputs(args)
    config = load_config(
        [args.stdin_filename or "."] if "-" in args.paths else args.paths, args.config, rule_ids=rule_ids()
    )
    rules = rules_with(config.flat().rules_dirs)  # with rules-dir's: a broken one is an error now
    config = config.with_command_line(
        select=_check_codes(parse_codes(tuple(args.select), "--select"), "--select", rules) if args.select else None,
        ignore=_check_codes(parse_codes(tuple(args.ignore), "--ignore"), "--ignore", rules) if args.ignore else (),
        fail_on=Severity(args.fail_on) if args.fail_on else None,
    )
    if args.require_reason:
        config = config.override(require_reason=True)
    if args.show_config:
        import json

        effective = config.for_file(args.show_config)
        print(json.dumps({"file": args.show_config, **effective.describe()}, indent=2))
        return EXIT_OK
    if args.plan and args.plan != "-" and not os.path.exists(args.plan):  # a pipe is fine: `--plan <(cmd)`
        raise UsageError(f"--plan: {args.plan}: no such file")
    stdin = _stdin_input(args)
    if args.diff and not args.fix:
        raise UsageError("--diff only goes with --fix")
    if args.diff and (args.format != "text" or len(args.outputs) > 1):
        raise UsageError(f"--diff prints a unified diff; it cannot be written as {args.outputs[-1].format}")
    if args.baseline_prune and not args.baseline:
        raise UsageError("--baseline-prune only goes with --baseline")
    if args.write_baseline and len(args.outputs) > 1:
        raise UsageError("--write-baseline writes no report; leave out --output FORMAT=FILE")
    baseline = None
    if args.baseline:  # read before linting: a broken baseline should not cost a whole run
        from orgtrust_lint.baseline import load

        baseline = load(args.baseline)
    args.jobs = _effective_jobs(args.jobs)  # decided (and any note printed) once, for both runs of --fix
    paths = [] if stdin else args.paths
    result = check(paths, config, keep_digests=args.fix, stdin=stdin, **_check_options(args))
    if args.fix and args.diff:
        return _show_diff(args, result)
    if args.fix:
        result = _fix(args, config, result)
    _report_skipped(result)
    if args.write_baseline:
        return _write_baseline(args, result)
    comparison = _compare_with_baseline(args, config, result, baseline) if baseline is not None else None
    return _exit_code(_write_report(args, result, comparison), config, args.exit_zero)


def _need_boto3() -> None:
    """drift reads the organization through boto3, which comes with the 'drift' extra only."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        from orgtrust_lint import REPOSITORY_URL

        raise UsageError(
            "drift needs boto3, which this installation lacks: install orgtrust-lint with its drift extra "
            f"(pip install 'orgtrust-lint[drift] @ git+{REPOSITORY_URL}') or add boto3 to its environment "
            f"({sys.executable} -m pip install boto3)"
        ) from None


def _drift(args: argparse.Namespace) -> int:
    from orgtrust_lint.catalog import Catalog
    from orgtrust_lint.config import load_config, parse_codes
    from orgtrust_lint.engine import rule_ids, rules_with
    from orgtrust_lint.facts import Severity
    from orgtrust_lint.lint import check_facts, extract
    from orgtrust_lint.live.aws import read_live
    from orgtrust_lint.live.drift import drift_items, live_organization, nothing_declared
    from orgtrust_lint.parallel import default_jobs

    _need_boto3()
    _choose_cache(args.no_cache)
    args.outputs = _outputs(args)
    resolver = load_config(args.paths, args.config, rule_ids=rule_ids())
    # drift's rules: the live ones (OT4xx, and those of rules-dir about the live organization).
    live_rules = [rule.id for rule in rules_with(resolver.flat().rules_dirs) if rule.live]
    # Only the command line chooses drift's rules: a configuration's select is about check's rules.
    select = parse_codes(tuple(args.select), "--select") if args.select else ("OT4", *live_rules)
    for code in select:
        if not any(rule_id.startswith(code) for rule_id in live_rules):
            raise UsageError(f"--select {code} selects none of drift's rules (OT4xx); 'orgtrust-lint check' runs it")
    ignore = parse_codes(tuple(args.ignore), "--ignore") if args.ignore else ()
    resolver = resolver.override(select=select, ignore=ignore, fail_on=Severity(args.fail_on) if args.fail_on else None)
    config = resolver.flat()  # drift is about the organization: the run's configuration, OT4 everywhere
    catalog = Catalog.load(config.extra_principals)
    facts, _ = extract(args.paths, config, catalog, use_cache=not args.no_cache, jobs=default_jobs())
    if problem := nothing_declared(facts, args.paths):  # before any call to AWS: a mistyped path needs no login
        raise UsageError(problem)
    live = read_live(args.profile, args.region, args.endpoint_url, args.timeout)
    facts.drift.extend(drift_items(facts, live, catalog))
    facts.live_organizations.append(live_organization(facts, live))
    result = check_facts(facts, config, catalog=catalog)
    if args.format == "text":
        _say(f"Organization {live.organization_id}: {len(live.enabled)} principal(s) enabled", sys.stdout)
    _report_skipped(result)
    return _exit_code(_write_report(args, result), config, args.exit_zero)


def _configured_rules() -> list[Rule]:
    """The shipped rules, and those of the rules-dir of the configuration for the working directory."""
    from orgtrust_lint.config import load_config
    from orgtrust_lint.engine import rule_ids, rules_with

    return rules_with(load_config(["."], rule_ids=rule_ids()).flat().rules_dirs)


def _rules(output_format: str) -> int:
    rules = _configured_rules()
    if output_format == "json":
        import json

        items = [
            {
                "id": r.id,
                "name": r.name,
                "severity": r.severity.value,
                "default_enabled": r.default_enabled,
                "summary": r.summary,
                "tags": list(r.tags),
                "references": [{"title": t, "url": u} for t, u in r.references],
            }
            for r in rules
        ]
        print(json.dumps({"version": 1, "rules": items}, indent=2))
        return EXIT_OK
    width = max(len(r.name) for r in rules)
    id_width = max(len(r.id) for r in rules)  # a team's ids may be longer than OT's five characters
    for rule in rules:
        default = "on " if rule.default_enabled else "off"
        print(f"{rule.id:<{id_width}}  {rule.name:<{width}}  {rule.severity.value:<7}  {default}  {rule.summary}")
    off = [r.id for r in rules if not r.default_enabled]
    if off:
        print(
            f"\n'off' rules run only when selected by their full code: --select {off[0]}, or in the configuration"
            f" select: [OT, {off[0]}] (every rule that is on, and {off[0]})."
        )
    return EXIT_OK


def _default_line(rule: Rule) -> str:
    if rule.default_enabled:
        return "On by default."
    return (
        f"Off by default: a recommendation you opt into with --select {rule.id}, or select: [OT, {rule.id}] in the"
        f" configuration (every rule that is on, and {rule.id})."
    )


def _indent(text: str) -> str:
    return textwrap.indent(text.rstrip("\n"), "    ")


def _wrap(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=100)


def _closest_rule(wanted: str, rules: list[Rule]) -> str | None:
    """The one rule code or name nearest to ``wanted``, as "'OT101' (unknown-service-principal)", or
    None when none is near or several are equally near (OT106 is one digit from five codes)."""
    from orgtrust_lint.catalog import edit_distance

    near: list[tuple[int, str]] = []
    for rule in rules:
        # A code may be one character off (OT10I), a name a few letters (unknown-service-principle).
        for key, other, text, limit in (
            (rule.id, rule.name, wanted.upper(), 1),
            (rule.name, rule.id, wanted.lower(), 3),
        ):
            distance = edit_distance(text, key, limit)
            if distance <= limit:
                near.append((distance, f"'{key}' ({other})"))
    near.sort()
    if not near or (len(near) > 1 and near[1][0] == near[0][0]):
        return None
    return near[0][1]


def _explain(code: str) -> int:
    # A rule is named by its code (OT101, any case) or by its name (unknown-service-principal), as
    # findings and `orgtrust-lint rules` show both.
    known = _configured_rules()
    rules = {key: r for r in known for key in (r.id, r.name)}
    wanted = code.strip()
    rule = rules.get(wanted.upper()) or rules.get(wanted.lower())
    if rule is None:
        hint = _closest_rule(wanted, known)
        raise UsageError(
            f"unknown rule '{code}'" + (f"; did you mean {hint}?" if hint else " (see 'orgtrust-lint rules')")
        )
    sections = [
        f"{rule.id} {rule.name} (default severity: {rule.severity.value})\n{_default_line(rule)}",
        _wrap(rule.summary),
        "What it does\n" + _wrap(rule.what),
        "Why is this bad?\n" + _wrap(rule.why),
        "Example\n" + _indent(rule.bad_example),
        "Use instead\n" + _indent(rule.good_example),
        "References\n" + "\n".join(f"- {title}: {url}" for title, url in rule.references),
    ]
    print("\n\n".join(sections))
    return EXIT_OK


def _services(principal: str | None, output_format: str = "text") -> int:
    from orgtrust_lint.catalog import Catalog

    catalog = Catalog.load()
    entries = list(catalog.entries.values())
    if output_format == "json":
        import json

        chosen = [e for e in entries if principal in (None, e["principal"])]
        if principal and not chosen:
            raise UsageError(f"'{principal}' is not in the catalog{_did_you_mean(catalog, principal)}")
        print(json.dumps({"version": 1, "catalog_version": catalog.version, "services": chosen}, indent=2))
        return EXIT_OK
    if principal:
        entry = catalog.entry(principal)
        if entry is None:
            raise UsageError(f"'{principal}' is not in the catalog{_did_you_mean(catalog, principal)}")
        print(_service_details(entry))
        return EXIT_OK
    width = max(len(e["principal"]) for e in entries)
    print(f"{'PRINCIPAL':<{width}}  {'ENABLE FROM':<15}  {'DELEG. ADMIN':<12}  SERVICE")
    for entry in sorted(entries, key=lambda e: e["principal"]):
        status = " (disputed)" if entry["status"] == "disputed" else ""
        print(
            f"{entry['principal']:<{width}}  {entry['enable']['recommended_from'] or 'unknown':<15}  "
            f"{entry['delegated_admin']['supported']:<12}  {entry['service']}{status}"
        )
    print(
        f"\n{len(entries)} principals, catalog version {catalog.version}. "
        "Details and sources: orgtrust-lint services PRINCIPAL"
    )
    return EXIT_OK


def _roles(roles: list[str] | None) -> str:
    """The catalog's service-linked roles: null means the sources don't say, [] that none is created."""
    if roles is None:
        return "not documented"
    return ", ".join(roles) or "none created"


def _did_you_mean(catalog: Catalog, principal: str) -> str:
    """ "; did you mean 'sso.amazonaws.com'?" as check's OT101 and OT103 would suggest it: the
    normal form first (a bare name, capitals, a trailing dot), then the nearest spelling."""
    from orgtrust_lint.predicates import normalise

    normal = normalise(principal)
    candidate = normal[0] if normal else principal
    hints = [candidate] if catalog.is_known(candidate) else catalog.suggestions(candidate)
    return f"; did you mean '{hints[0]}'?" if hints else ""


def _service_details(entry: dict[str, Any]) -> str:
    from orgtrust_lint.integrations import describe_when

    delegated = entry["delegated_admin"]
    disable = entry["on_disable"]
    lines = [
        f"{entry['principal']}: {entry['service']} ({entry['status']})",
        f"  service-linked roles: {_roles(entry['service_linked_roles'])}",
        f"  enable from: {entry['enable']['recommended_from'] or 'not documented'} - {entry['enable']['note']}",
        f"  delegated administrator: {delegated['supported']}"
        + (f" ({delegated['principal']})" if delegated.get("principal") else "")
        + (f" - {delegated['note']}" if delegated.get("note") else ""),
        f"  disabling from Organizations: {disable.get('summary') or 'not documented'}",
    ]
    if entry.get("dispute"):
        lines.append(f"  disputed: {entry['dispute']}")
    for fact in entry.get("disputed_facts", []):
        lines.append(f"  disputed {fact['fact']}: {fact['note']}")
    for integration in entry.get("integrations", []):
        when = describe_when(integration.get("when"))
        condition = f" when {when}" if when else ""
        inferred = " (inferred, not checked)" if integration.get("inferred") else ""
        lines.append(f"  relied on by {integration['format']} {integration['resource']}{condition}{inferred}")
    lines.append("  sources:")
    lines.extend(f"    {url}" for url in entry["sources"])
    return "\n".join(lines)


def _test_rules(paths: list[str]) -> int:
    """Each failure on a line of its own (path:line: what), then a summary; exit 1 on any failure."""
    from orgtrust_lint.rule_tests import run_rule_tests

    outcome = run_rule_tests(paths)
    for failure in outcome.failures:
        _say(failure, sys.stdout)
    tested = f"{outcome.rules} rule(s), {outcome.files} fixture file(s), {outcome.annotations} annotation(s)"
    verdict = f"{len(outcome.failures)} failure(s)" if outcome.failures else "all passed"
    print(f"test-rules: {tested}: {verdict}")
    return EXIT_FINDINGS if outcome.failures else EXIT_OK


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """parse_args, but an unknown flag after a command points to that command's help, where the
    flags it takes are listed, not to the top-level help, which lists none of them."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        after_command = args.command is not None and argv.index(args.command) < argv.index(unknown[0])
        reporter = commands.choices[args.command] if after_command else parser
        reporter.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def run(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = _parse(parser, argv)
        if args.command == "check":
            return _check(args)
        if args.command == "drift":
            return _drift(args)
        if args.command == "rules":
            return _rules(args.format)
        if args.command == "explain":
            return _explain(args.code)
        if args.command == "services":
            return _services(args.principal, args.format)
        if args.command == "test-rules":
            return _test_rules(args.paths)
        if args.command == "completion":
            return _completion(args.shell)
        parser.print_help()
        return EXIT_ERROR
    except UserError as exc:
        _say(f"orgtrust-lint: error: {exc}")
        return EXIT_ERROR
    finally:
        from orgtrust_lint import terminal

        terminal.disable()


def main(recording: Recording | None = None) -> NoReturn:
    """The command; ``recording`` (from launch.py) keeps what this run read and wrote for the next
    identical run to replay."""
    if recording is not None:
        recording.start()
    try:
        code = run(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_OK
        if recording is not None:
            recording.complete = False
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        _say(f"orgtrust-lint: internal error: {type(exc).__name__}: {exc} (please report this)")
        code = EXIT_ERROR
    if recording is not None:
        recording.finish(code)
    sys.exit(code)
