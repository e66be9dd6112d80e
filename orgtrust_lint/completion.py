"""Shell completion scripts for bash, zsh and fish, written from the argument parser itself
(``orgtrust-lint completion SHELL``), so a new option completes without anyone editing a script.

The scripts are static: completing calls no Python, so a Tab costs nothing. What an option's value
completes to follows from the parser: its choices (``--format``), rule codes for ``CODES``/``CODE``,
directories for ``DIR``, file names for ``FILE``, ``PATH``, ``PLAN_JSON`` and ``NAME``, nothing for
free text (``--profile``, ``--base``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")

_FILE_METAVARS = frozenset({"FILE", "PATH", "PLAN_JSON", "NAME"})
_CODE_METAVARS = frozenset({"CODES", "CODE"})


@dataclass(frozen=True)
class _Option:
    flags: tuple[str, ...]
    help: str
    takes_value: bool
    words: tuple[str, ...] = ()  # the values to offer, when they are a fixed list
    kind: str = ""  # "files", "directories", or "" (the words, or nothing)
    repeatable: bool = False  # --select, --output: offered again after use


@dataclass(frozen=True)
class _Command:
    name: str
    help: str
    options: tuple[_Option, ...]
    positional: _Option | None  # what the command's arguments complete to


def _value(action: argparse.Action, codes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    if action.choices:
        return tuple(str(c) for c in action.choices), ""
    metavar = str(action.metavar or "")
    if metavar in _CODE_METAVARS:
        return codes, ""
    if metavar == "DIR":
        return (), "directories"
    if metavar in _FILE_METAVARS:
        return (), "files"
    if metavar.startswith("FORMAT"):  # --output FORMAT[=FILE]: the format names
        from orgtrust_lint.outputs import FORMATS

        return FORMATS, ""
    return (), ""


def _option(action: argparse.Action, codes: tuple[str, ...]) -> _Option:
    words, kind = _value(action, codes)
    help_text = (action.help or "").replace("%(prog)s", "orgtrust-lint").replace("%%", "%")
    repeatable = isinstance(action, (argparse._AppendAction, argparse._ExtendAction))
    return _Option(tuple(action.option_strings), help_text, action.nargs != 0, words, kind, repeatable)


def _commands(parser: argparse.ArgumentParser, codes: tuple[str, ...]) -> list[_Command]:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help or "" for a in subparsers._choices_actions}
    commands = []
    for name, command in subparsers.choices.items():
        options = tuple(_option(a, codes) for a in command._actions if a.option_strings)
        positionals = [a for a in command._actions if not a.option_strings]
        commands.append(
            _Command(name, helps.get(name, ""), options, _option(positionals[0], codes) if positionals else None)
        )
    return commands


def _top_options(parser: argparse.ArgumentParser) -> list[str]:
    return [flag for a in parser._actions if a.option_strings for flag in a.option_strings]


# ---- bash -------------------------------------------------------------------------------------------


def _bash_reply(option: _Option) -> str:
    if option.kind == "files":
        return 'COMPREPLY=($(compgen -f -- "$cur"))'
    if option.kind == "directories":
        return 'COMPREPLY=($(compgen -d -- "$cur"))'
    return f'COMPREPLY=($(compgen -W "{" ".join(option.words)}" -- "$cur"))'


def bash(parser: argparse.ArgumentParser, codes: tuple[str, ...]) -> str:
    program = parser.prog
    commands = _commands(parser, codes)
    names = " ".join(c.name for c in commands)
    cases = []
    for command in commands:
        valued = [o for o in command.options if o.takes_value]
        value_cases = "".join(f"                {'|'.join(o.flags)}) {_bash_reply(o)}; return;;\n" for o in valued)
        flags = " ".join(flag for o in command.options for flag in o.flags)
        arguments = _bash_reply(command.positional) if command.positional else "COMPREPLY=()"
        cases.append(
            f"        {command.name})\n"
            f'            case "$prev" in\n{value_cases}            esac\n'
            f'            if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "{flags}" -- "$cur"))\n'
            f"            else {arguments}; fi\n"
            "            ;;\n"
        )
    return (
        f'# bash completion for {program}: eval "$({program} completion bash)" in ~/.bashrc\n'
        "_orgtrust_lint() {\n"
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" command="" i\n'
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
        f'        case "${{COMP_WORDS[i]}}" in {"|".join(c.name for c in commands)}) '
        'command="${COMP_WORDS[i]}"; break;; esac\n'
        "    done\n"
        '    case "$command" in\n'
        f'        "") COMPREPLY=($(compgen -W "{" ".join(_top_options(parser))} {names}" -- "$cur"));;\n'
        + "".join(cases)
        + "    esac\n"
        "}\n"
        f"complete -o filenames -o bashdefault -F _orgtrust_lint {program}\n"
    )


# ---- zsh --------------------------------------------------------------------------------------------


def _zsh_text(text: str) -> str:
    """Text inside a single-quoted _arguments spec: its own quotes, brackets and colons escaped."""
    text = text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")
    return text.replace("'", "'\\''")


def _zsh_action(option: _Option) -> str:
    if option.kind == "files":
        return "_files"
    if option.kind == "directories":
        return "_files -/"
    return f"({' '.join(option.words)})" if option.words else " "


def _zsh_spec(option: _Option) -> list[str]:
    value = f":{_zsh_text(option.flags[-1].lstrip('-'))}:{_zsh_action(option)}" if option.takes_value else ""
    described = f"[{_zsh_text(option.help)}]{value}'"
    if len(option.flags) > 1:
        names = "{" + ",".join(option.flags) + "}"
        # Either spelling of a one-time option hides both; a repeatable one stays offered.
        prefix = "'*'" if option.repeatable else f"'({' '.join(option.flags)})'"
        return [f"{prefix}{names}'{described}"]
    return [f"'{'*' if option.repeatable else ''}{option.flags[0]}{described}"]


def zsh(parser: argparse.ArgumentParser, codes: tuple[str, ...]) -> str:
    program = parser.prog
    commands = _commands(parser, codes)
    described = "\n".join(f"        '{c.name}:{_zsh_text(c.help)}'" for c in commands)
    cases = []
    for command in commands:
        specs = [spec for o in command.options for spec in _zsh_spec(o)]
        if command.positional is not None:
            many = "*" if command.positional.kind == "files" or command.name == "check" else "1"
            specs.append(f"'{many}:{_zsh_text(command.name)} argument:{_zsh_action(command.positional)}'")
        joined = " \\\n                ".join(specs)
        cases.append(f"            ({command.name}) _arguments -s \\\n                {joined} ;;\n")
    return (
        f"#compdef {program}\n"
        f'# zsh completion for {program}: {program} completion zsh > "${{fpath[1]}}/_{program}"\n'
        "_orgtrust_lint() {\n"
        "    local state line\n"
        "    local -a commands\n"
        f"    commands=(\n{described}\n    )\n"
        "    _arguments -C '(- *)--version[show the version]' '(- *)'{-h,--help}'[show help]' \\\n"
        "        '1:command:->command' '*::argument:->argument'\n"
        "    case $state in\n"
        "        (command) _describe command commands ;;\n"
        "        (argument)\n"
        "            case $line[1] in\n" + "".join(cases) + "            esac ;;\n"
        "    esac\n"
        "}\n"
        'if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _orgtrust_lint "$@"; '
        f"else compdef _orgtrust_lint {program}; fi\n"
    )


# ---- fish -------------------------------------------------------------------------------------------


def _fish_text(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_option(program: str, condition: str, option: _Option) -> str:
    parts = [f"complete -c {program} -n {_fish_text(condition)}"]
    for flag in option.flags:
        parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
    if option.takes_value:
        if option.kind:
            parts.append("-r -F")
        else:
            parts.append("-x" + (f" -a {_fish_text(' '.join(option.words))}" if option.words else ""))
    parts.append(f"-d {_fish_text(option.help)}")
    return " ".join(parts)


def fish(parser: argparse.ArgumentParser, codes: tuple[str, ...]) -> str:
    program = parser.prog
    commands = _commands(parser, codes)
    names = " ".join(c.name for c in commands)
    lines = [
        f"# fish completion for {program}: {program} completion fish > ~/.config/fish/completions/{program}.fish",
        f"complete -c {program} -f",
        f"complete -c {program} -n {_fish_text(f'not __fish_seen_subcommand_from {names}')} -l version"
        " -d 'show the version'",
    ]
    for command in commands:
        lines.append(
            f"complete -c {program} -n {_fish_text(f'not __fish_seen_subcommand_from {names}')} -a {command.name}"
            f" -d {_fish_text(command.help)}"
        )
    for command in commands:
        condition = f"__fish_seen_subcommand_from {command.name}"
        lines.extend(_fish_option(program, condition, option) for option in command.options)
        positional = command.positional
        if positional is not None and positional.kind:
            lines.append(f"complete -c {program} -n {_fish_text(condition)} -F")
        elif positional is not None and positional.words:
            lines.append(
                f"complete -c {program} -n {_fish_text(condition)} -a {_fish_text(' '.join(positional.words))}"
            )
    return "\n".join(lines) + "\n"


def script(shell: str, parser: argparse.ArgumentParser, codes: tuple[str, ...]) -> str:
    """The completion script for ``shell`` (one of SHELLS)."""
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](parser, codes)
