"""What Terraform's functions inherit from Go and cty, reproduced over plain Python values: how a
number prints, how JSON and YAML are written and read, Unicode case mapping, grapheme clusters,
printf verbs, RE2 patterns and Go's replacement templates.

Everything here works on Python primitives, lists and dicts; functions.py maps Terraform values
with provenance onto them. Two exceptions say why there is no result:

- ``GoError``: Terraform itself would fail (a bad format verb, a pattern RE2 rejects, invalid
  YAML). The function's value is an error, which try() skips.
- ``NotEvaluated``: Terraform would produce a value, but this port does not reproduce it exactly
  (a %g verb, a multi-line YAML string, a regular expression that runs too long).
  The value is unknown, never a guess.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

# A dependency of python-hcl2 (so always installed): grapheme clusters (\X), POSIX classes and
# matching with a timeout, which the standard re module has none of.
import regex

PyValue = Any  # None, bool, int, float, str, list of PyValue, dict of str to PyValue


class GoError(Exception):
    """Terraform reports an error for this input (the message says why)."""


class NotEvaluated(Exception):
    """Terraform computes a value here that this port does not reproduce exactly."""


# Strings a function builds are bounded like the files they come from: a replace() or join()
# that would build more is reported as unknown instead of filling memory.
MAX_STRING = 10 * 1024 * 1024


def check_size(text: str) -> str:
    if len(text) > MAX_STRING:
        raise NotEvaluated("the result would be longer than 10 MB")
    return text


# ---- numbers --------------------------------------------------------------------------------


def _decimal(number: int | float) -> Decimal:
    if isinstance(number, float):
        if number != number or number in (float("inf"), float("-inf")):
            raise NotEvaluated("an infinite number")
        return Decimal(repr(number))  # the shortest digits that give this float: what was written
    return Decimal(number)


def number_text(number: int | float) -> str:
    """A number as Terraform turns it into a string (big.Float Text('f', -1)): all digits, no exponent."""
    if isinstance(number, int):
        return str(number)
    value = _decimal(number)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value, "f")


_NUMBER = regex.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(text: str) -> int | float | None:
    """A string converted to a number as cty does (decimal only, the whole string); None when it is
    not one. Numbers whose exponent is beyond a double's are not evaluated."""
    if not _NUMBER.fullmatch(text):
        return None
    value = Decimal(text)
    if value.is_zero():
        return 0
    if abs(value.adjusted()) > 300:
        raise NotEvaluated("a number beyond the range this port computes")
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def normal_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _shortest_digits(number: int | float) -> tuple[str, int, bool]:
    """(digits without trailing zeros, exponent of the first digit, negative)."""
    value = _decimal(number).normalize()
    sign, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits)).lstrip("0") or "0"
    assert isinstance(exponent, int)
    return text, len(digits) + exponent - 1, bool(sign)


def go_g_shortest(number: int | float) -> str:
    """Go's %g with the shortest precision (what format's %v prints for a number): an exponent
    from 1e+06 up and below 1e-04."""
    if number == 0:
        return "0"
    digits, exponent, negative = _shortest_digits(number)
    sign = "-" if negative else ""
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    return sign + format(_decimal(abs(number)).normalize(), "f")


# ---- JSON -----------------------------------------------------------------------------------

_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
# Go's encoding/json escapes these even though JSON does not require it (HTML safety).
_JSON_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _JSON_SHORT:
            out.append(_JSON_SHORT[char])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif char in _JSON_HTML:
            out.append(_JSON_HTML[char])
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")  # a lone surrogate is not UTF-8: Go writes the replacement character
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def json_encode(value: PyValue) -> str:
    """jsonencode: compact, object keys in lexical order, Go's string escaping."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(json_encode(item) for item in value) + "]"
    return "{" + ",".join(json_string(key) + ":" + json_encode(value[key]) for key in sorted(value)) + "}"


# ---- Unicode --------------------------------------------------------------------------------


def _simple(text: str) -> bool:
    """Every character is a cluster of its own (ASCII without a CR LF pair)."""
    return text.isascii() and "\r\n" not in text


def graphemes(text: str) -> list[str]:
    """The user-perceived characters Terraform counts in length(), substr() and format widths."""
    return list(text) if _simple(text) else regex.findall(r"\X", text)


def grapheme_count(text: str) -> int:
    return len(text) if _simple(text) else sum(1 for _ in regex.finditer(r"\X", text))


def _simple_upper(char: str) -> str:
    # Go maps rune by rune with Unicode's simple mappings; Python's full mapping turns "ß" into
    # "SS". Where the full mapping is longer, the simple one is the titlecase letter or nothing.
    mapped = char.upper()
    if len(mapped) == 1:
        return mapped
    title = char.title()
    return title if len(title) == 1 else char


def go_upper(text: str) -> str:
    return "".join(_simple_upper(char) for char in text)


def go_lower(text: str) -> str:
    # Only U+0130 has a longer full lowercase mapping ("i" and a combining dot); its simple one is "i".
    return "".join(mapped if len(mapped := char.lower()) == 1 else mapped[0] for char in text)


# unicode.IsSpace: what Go's TrimSpace and strings.Title treat as space (Python's str.strip also
# strips the ASCII separators 0x1c-0x1f, which Go keeps).
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))


def _is_separator(char: str) -> bool:
    """strings.Title's word boundary."""
    if char < "\x80":
        return not (char.isalnum() or char == "_")
    import unicodedata

    category = unicodedata.category(char)
    if category.startswith("L") or category == "Nd":
        return False
    return char in GO_SPACE


def go_title(text: str) -> str:
    out = []
    previous = " "
    for char in text:
        if _is_separator(previous):
            title = char.title()
            out.append(title if len(title) == 1 else char)
        else:
            out.append(char)
        previous = char
    return "".join(out)


def substr(text: str, offset: int, length: int) -> str:
    """cty's substr, step by step (a negative offset counts from the end; length -1 is the rest;
    its quirk kept: with a negative offset, length 0 is the rest too)."""
    clusters = graphemes(text)
    total = len(clusters)
    if offset < 0:
        offset += total
    elif length == 0:
        return ""
    start = 0
    if offset > 0:
        if offset > total:
            return ""
        start = offset
    rest = clusters[start:]
    if length < 0 or length == 0 or length > len(rest):
        return "".join(rest)
    return "".join(rest[:length])


# ---- format ---------------------------------------------------------------------------------

_VERB = regex.compile(
    r"%(?P<flags>[-+# 0]*)(?P<width>[1-9][0-9]*)?(?P<precision>\.[0-9]*)?"
    r"(?:\[(?P<index>[1-9][0-9]*)\])?(?P<mode>[A-Za-z])"
)
MAX_WIDTH = 10_000


def _to_text(value: PyValue, verb: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    if isinstance(value, str):
        return value
    raise GoError(f"unsupported value for {verb}: a string is required")


def _to_number(value: PyValue, verb: str) -> int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        number = parse_number(value)
        if number is not None:
            return number
    raise GoError(f"unsupported value for {verb}: a number is required")


def _to_bool(value: PyValue, verb: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise GoError(f"unsupported value for {verb}: a bool is required")


def _pad(text: str, width: int | None, flags: str) -> str:
    """formatPadWidth: the width counts grapheme clusters; "0" pads with zeros, "-" on the right."""
    if width is None:
        return text
    missing = width - grapheme_count(text)
    if missing <= 0:
        return text
    pad = ("0" if "0" in flags else " ") * missing
    return text + pad if "-" in flags else pad + text


def _format_integer(number: int | float, mode: str, flags: str, width: int | None, precision: int | None) -> str:
    """Go's fmt for a big.Int: [left pad][sign][prefix][zeros][digits][right pad]."""
    if number != int(number):
        raise GoError(f"unsupported value for %{mode}: an integer is required")
    whole = int(number)
    base = {"b": 2, "d": 10, "o": 8, "x": 16, "X": 16}[mode]
    digits = _digits(abs(whole), base)
    if mode == "X":
        digits = digits.upper()
    prefix = ""
    if "#" in flags:
        prefix = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(mode, "")
    sign = "-" if whole < 0 else "+" if "+" in flags else " " if " " in flags else ""
    zeros = 0
    if precision is not None:
        if len(digits) < precision:
            zeros = precision - len(digits)
        elif digits == "0" and precision == 0:
            return ""
    length = len(sign) + len(prefix) + zeros + len(digits)
    left = right = 0
    if width is not None and length < width:
        missing = width - length
        if "-" in flags:
            right = missing
        elif "0" in flags and precision is None:
            zeros = missing
        else:
            left = missing
    return " " * left + sign + prefix + "0" * zeros + digits + " " * right


def _digits(number: int, base: int) -> str:
    if base == 10:
        return str(number)
    return format(number, {2: "b", 8: "o", 16: "x"}[base])


def _format_float(number: int | float, mode: str, flags: str, width: int | None, precision: int | None) -> str:
    """Go's fmt for a big.Float with %e, %E and %f: the digits of cty's 512-bit binary value,
    rounded half to even."""
    if mode in "gG":
        raise NotEvaluated("the %g verb is not evaluated")
    places = 6 if precision is None else precision
    value = _binary512(_decimal(number))
    negative = value < 0
    magnitude = -value if negative else value
    if mode == "f":
        text = _decimal_digits(_round_half_even(magnitude * 10**places), places)
    else:
        exponent = 0
        if magnitude:
            exponent = len(str(magnitude.numerator // magnitude.denominator or 1)) - 1
            while Fraction(10) ** exponent > magnitude:
                exponent -= 1
        digits = _round_half_even(magnitude * Fraction(10) ** (places - exponent))
        if digits >= 10 ** (places + 1):
            exponent += 1
            digits = _round_half_even(magnitude * Fraction(10) ** (places - exponent))
        sign_of_exponent = "-" if exponent < 0 else "+"
        text = f"{_decimal_digits(digits, places)}{mode}{sign_of_exponent}{abs(exponent):02d}"
    sign = "-" if negative else "+" if "+" in flags else " " if " " in flags else ""
    padding = max(0, (width or 0) - len(sign) - len(text))
    if "0" in flags:
        return sign + "0" * padding + text
    if "-" in flags:
        return sign + text + " " * padding
    return " " * padding + sign + text


def _binary512(value: Decimal) -> Fraction:
    """The number cty holds for a decimal: the nearest binary fraction with a 512-bit mantissa
    (big.ParseFloat(s, 10, 512, ToNearestEven)); whole numbers of up to 512 bits are exact."""
    exact = Fraction(value)
    if exact == 0 or (exact.denominator == 1 and abs(exact.numerator).bit_length() <= 512):
        return exact
    magnitude = abs(exact)
    shift = 512 - (magnitude.numerator.bit_length() - magnitude.denominator.bit_length())
    mantissa = _round_half_even(magnitude * Fraction(2) ** shift)
    while mantissa.bit_length() != 512:  # the estimate of the exponent is off by one at most
        shift += 1 if mantissa.bit_length() < 512 else -1
        mantissa = _round_half_even(magnitude * Fraction(2) ** shift)
    result = Fraction(mantissa) / Fraction(2) ** shift
    return -result if exact < 0 else result


def _round_half_even(value: Fraction) -> int:
    whole = value.numerator // value.denominator
    rest = value - whole
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and whole % 2):
        whole += 1
    return whole


def _decimal_digits(digits: int, places: int) -> str:
    text = str(digits).rjust(places + 1, "0")
    return text[:-places] + "." + text[-places:] if places else text


def go_format(spec: str, args: list[PyValue]) -> str:
    """format(): cty's printf over plain values (every argument known)."""
    out: list[str] = []
    position = 0
    next_argument = 1
    highest = 0
    while position < len(spec):
        percent = spec.find("%", position)
        if percent < 0:
            out.append(spec[position:])
            break
        out.append(spec[position:percent])
        if spec.startswith("%%", percent):
            out.append("%")
            position = percent + 2
            continue
        match = _VERB.match(spec, percent)
        if match is None:
            raise GoError(f"invalid format string starting at offset {percent}")
        position = match.end()
        argument = int(match["index"]) if match["index"] else next_argument
        highest = max(highest, argument)
        next_argument = argument + 1
        if argument > len(args):
            raise GoError(f"not enough arguments for {match[0]!r}")
        out.append(_format_verb(match, args[argument - 1]))
        check_size("".join(out))
    if highest < len(args):
        raise GoError("too many arguments for the format string")
    return "".join(out)


def _format_verb(match: regex.Match[str], value: PyValue) -> str:
    mode, flags, verb = match["mode"], match["flags"], match[0]
    width = int(match["width"]) if match["width"] else None
    precision = int(match["precision"][1:] or 0) if match["precision"] else None
    if (width or 0) > MAX_WIDTH or (precision or 0) > MAX_WIDTH:
        raise NotEvaluated("a format width beyond 10,000")
    if value is None and mode != "v":
        raise GoError(f"unsupported value for {verb}: null value cannot be formatted")
    if mode == "v":
        if "#" not in flags and isinstance(value, str):
            return _pad(value, width, flags)
        if "#" not in flags and isinstance(value, (int, float)) and not isinstance(value, bool):
            return _pad(go_g_shortest(value), width, flags)
        return _pad(json_encode(value), width, flags)
    if mode == "t":
        return "true" if _to_bool(value, verb) else "false"
    if mode in "bdoxX":
        return _format_integer(_to_number(value, verb), mode, flags, width, precision)
    if mode in "eEfgG":
        return _format_float(_to_number(value, verb), mode, flags, width, precision)
    if mode in "sq":
        text = _to_text(value, verb)
        if precision:
            text = "".join(graphemes(text)[:precision])
        return _pad(text if mode == "s" else json_string(text), width, flags)
    raise GoError(f"unsupported format verb {mode!r}")


# ---- RE2 patterns and Go replacement templates ----------------------------------------------

# RE2's Perl classes are ASCII only; Python's are Unicode.
_PERL_CLASSES = {"d": "0-9", "s": "\\t\\n\\f\\r ", "w": "0-9A-Za-z_"}
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_WORD = "[0-9A-Za-z_]"
_BOUNDARY = f"(?:(?<={_WORD})(?!{_WORD})|(?<!{_WORD})(?={_WORD}))"
_NOT_BOUNDARY = f"(?:(?<={_WORD})(?={_WORD})|(?<!{_WORD})(?!{_WORD}))"
_ESCAPES_KEPT = set("afnrtv") | set("\\.+*?()|[]{}^$-/#&~ \"'!%,:;<=>@_`")
MAX_REPEAT = 1000
REGEX_SECONDS = 0.5


def translate_re2(pattern: str) -> str:
    """An RE2 pattern as the regex module reads it with the same meaning; GoError where RE2
    rejects the pattern (look-arounds, back references), NotEvaluated where the translation
    would be unsure."""
    out: list[str] = []
    position = 0
    length = len(pattern)
    last_was_quantifier = False
    if pattern.startswith("(?"):
        flags = regex.match(r"\(\?([a-zA-Z]*)\)", pattern)
        if flags:
            _check_flags(flags[1], allow_multiline=True)
            out.append(flags[0])
            position = flags.end()
    multiline = "m" in "".join(out)
    while position < length:
        char = pattern[position]
        quantifier = False
        if char == "\\":
            piece, position = _escape(pattern, position, in_class=False)
            out.append(piece)
        elif char == "[":
            piece, position = _char_class(pattern, position)
            out.append(piece)
        elif char == "(":
            piece, position = _group_open(pattern, position)
            out.append(piece)
        elif char == "$" and not multiline:
            out.append("\\Z")  # RE2's $ is the end of the text; Python's also matches before a final newline
            position += 1
        elif char in "*+?":
            if last_was_quantifier and not (char == "?" and pattern[position - 1] != "?"):
                raise GoError("invalid nested repetition operator")
            out.append(char)
            quantifier = char != "?" or not last_was_quantifier
            position += 1
        elif char == "{":
            repeat = regex.match(r"\{([0-9]+)(,([0-9]*))?\}", pattern[position:])
            if repeat:
                if last_was_quantifier:
                    raise GoError("invalid nested repetition operator")
                counts = [int(repeat[1])] + ([int(repeat[3])] if repeat[3] else [])
                if max(counts) > MAX_REPEAT or (len(counts) == 2 and counts[1] < counts[0]):
                    raise GoError("invalid repeat count")
                out.append(repeat[0])
                position += repeat.end()
                quantifier = True
            else:
                out.append("\\{")
                position += 1
        elif char == "}":
            out.append("\\}")
            position += 1
        else:
            out.append(char)
            position += 1
        last_was_quantifier = quantifier
    return "".join(out)


def _check_flags(flags: str, allow_multiline: bool) -> None:
    for flag in flags:
        if flag not in "imsU":
            raise GoError(f"invalid or unsupported Perl syntax: flag {flag!r}")
        if flag == "U" or (flag == "m" and not allow_multiline):
            raise NotEvaluated(f"the RE2 flag {flag!r} is not translated")


def _group_open(pattern: str, position: int) -> tuple[str, int]:
    if not pattern.startswith("(?", position):
        return "(", position + 1
    named = regex.match(r"\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>", pattern[position:])
    if named:
        return f"(?P<{named[1]}>", position + named.end()
    scoped = regex.match(r"\(\?([a-zA-Z]*)(-[a-zA-Z]*)?:", pattern[position:])
    if scoped:
        _check_flags(scoped[1] + (scoped[2] or "")[1:], allow_multiline=False)
        return scoped[0], position + scoped.end()
    if regex.match(r"\(\?[a-zA-Z-]*\)", pattern[position:]):
        raise NotEvaluated("flags set in the middle of an RE2 pattern are not translated")
    raise GoError("invalid or unsupported Perl syntax (look-arounds and atomic groups are not RE2)")


def _escape(pattern: str, position: int, in_class: bool) -> tuple[str, int]:
    if position + 1 >= len(pattern):
        raise GoError("trailing backslash at end of expression")
    char = pattern[position + 1]
    end = position + 2
    if char in _PERL_CLASSES:
        return (_PERL_CLASSES[char] if in_class else f"[{_PERL_CLASSES[char]}]"), end
    if char in "DSW":
        if in_class:
            raise NotEvaluated("a negated Perl class inside a character class is not translated")
        return f"[^{_PERL_CLASSES[char.lower()]}]", end
    if char in "bB" and not in_class:
        return (_BOUNDARY if char == "b" else _NOT_BOUNDARY), end
    if char == "A" and not in_class:
        return "\\A", end
    if char == "z" and not in_class:
        return "\\Z", end
    if char in "pP":
        named = regex.match(r"\{\^?[A-Za-z_]+\}|[A-Za-z]", pattern[end:])
        if not named:
            raise GoError("invalid character class range")
        return pattern[position:end] + named[0], end + named.end()
    if char == "x":
        braced = regex.match(r"\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{2})", pattern[end:])
        if not braced:
            raise GoError("invalid escape sequence")
        code = int(braced[1] or braced[2], 16)
        if code > 0x10FFFF:
            raise GoError("invalid escape sequence")
        return f"\\U{code:08x}", end + braced.end()
    if char == "Q" and not in_class:
        close = pattern.find("\\E", end)
        literal = pattern[end:] if close < 0 else pattern[end:close]
        return regex.escape(literal), len(pattern) if close < 0 else close + 2
    if char.isdigit():
        raise GoError("invalid escape sequence (RE2 has no back references)")
    if char in _ESCAPES_KEPT or (not char.isalnum() and ord(char) < 0x80):
        return pattern[position:end], end
    raise GoError(f"invalid escape sequence: \\{char}")


def _char_class(pattern: str, position: int) -> tuple[str, int]:
    out = ["["]
    index = position + 1
    if pattern.startswith("^", index):
        out.append("^")
        index += 1
    first = True
    while index < len(pattern):
        char = pattern[index]
        if char == "]" and not first:
            out.append("]")
            return "".join(out), index + 1
        posix = regex.match(r"\[:(\^?)([a-z]+):\]", pattern[index:])
        if posix:
            if posix[1] or posix[2] not in _POSIX_CLASSES:
                raise NotEvaluated("this POSIX class is not translated")
            out.append(_POSIX_CLASSES[posix[2]])
            index += posix.end()
        elif char == "\\":
            piece, index = _escape(pattern, index, in_class=True)
            out.append(piece)
        elif char in "[&~|":
            out.append("\\" + char)  # literal in RE2; the regex module could read set operations
            index += 1
        else:
            out.append(char)
            index += 1
        first = False
    raise GoError("missing closing ]")


def _expand(template: str, match: regex.Match[str], names: Mapping[str, int]) -> str:
    """regexp.Expand: $1, ${1}, $name, ${name}; $$ is a dollar; an unknown name is empty."""
    out: list[str] = []
    rest = template
    while True:
        dollar = rest.find("$")
        if dollar < 0:
            out.append(rest)
            return "".join(out)
        out.append(rest[:dollar])
        rest = rest[dollar + 1 :]
        if rest.startswith("$"):
            out.append("$")
            rest = rest[1:]
            continue
        reference = regex.match(r"\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+)", rest)
        if not reference:
            out.append("$")
            continue
        name = reference[1] or reference[2]
        rest = rest[reference.end() :]
        group: int | None = None
        if name.isdigit() and name.isascii() and not (name.startswith("0") and len(name) > 1):
            group = int(name) if len(name) < 9 else None
        elif name in names:
            group = names[name]
        if group is not None and group <= (match.re.groups or 0):
            out.append(match.group(group) or "")


def regex_replace(text: str, pattern: str, replacement: str) -> str:
    """Regexp.ReplaceAllString with Go's rules for empty matches: one right after a match is not
    replaced, and the search always moves on by at least one character."""
    try:
        compiled = regex.compile(translate_re2(pattern))
    except regex.error as exc:
        raise GoError(f"invalid regular expression: {exc}") from None
    deadline = time.monotonic() + REGEX_SECONDS
    out: list[str] = []
    search_from = 0
    last_end = 0
    size = 0
    while search_from <= len(text):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NotEvaluated("the regular expression takes too long")
        try:
            match = compiled.search(text, search_from, timeout=remaining)
        except TimeoutError:
            raise NotEvaluated("the regular expression takes too long") from None
        if match is None:
            break
        start, end = match.span()
        out.append(text[last_end:start])
        if end > last_end or start == 0:
            out.append(_expand(replacement, match, compiled.groupindex))
        size += len(out[-1]) + start - last_end
        if size > MAX_STRING:
            raise NotEvaluated("the result would be longer than 10 MB")
        last_end = end
        search_from = search_from + 1 if search_from + 1 > end else end
    out.append(text[last_end:])
    return check_size("".join(out))


# ---- YAML -----------------------------------------------------------------------------------

YAML_WIDTH = 80  # libyaml's best_width: a double-quoted scalar past it is folded at a space
_YAML_ESCAPES = {
    "\0": "0",
    "\a": "a",
    "\b": "b",
    "\t": "t",
    "\n": "n",
    "\v": "v",
    "\f": "f",
    "\r": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\u2028": "L",
    "\u2029": "P",
}


def _yaml_printable(code: int) -> bool:
    return (
        code == 0x0A or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
    )


def _yaml_quoted(text: str, column: int, indent: int | None) -> str:
    """libyaml's double-quoted scalar starting at ``column``: a value (``indent`` given; keys are
    never folded) breaks at a space past column 80 onto a new line indented by ``indent``."""
    out = ['"']
    column += 1
    previous_space = False
    for index, char in enumerate(text):
        code = ord(char)
        if not _yaml_printable(code) or char in '\n\r\x85\u2028\u2029"\\' or code == 0xFEFF:
            if char in _YAML_ESCAPES:
                piece = "\\" + _YAML_ESCAPES[char]
            elif code <= 0xFF:
                piece = f"\\x{code:02X}"
            elif code <= 0xFFFF:
                piece = f"\\u{code:04X}"
            else:
                piece = f"\\U{code:08X}"
            previous_space = False
        elif char == " ":
            if indent is not None and not previous_space and column > YAML_WIDTH and 0 < index < len(text) - 1:
                # The space becomes the line break; a space right after it is escaped to be kept.
                piece = "\n" + " " * indent + ("\\" if text[index + 1] == " " else "")
                out.append(piece)
                column = len(piece) - 1
                previous_space = True
                continue
            piece = char
            previous_space = True
        else:
            piece = char
            previous_space = False
        out.append(piece)
        column += len(piece)
    out.append('"')
    return "".join(out)


def _yaml_scalar(value: PyValue, column: int, indent: int | None) -> str:
    """A scalar written at ``column``: a value of a block whose entries start at ``indent - 2``,
    or a key (``indent`` None)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    if isinstance(value, list):
        return "[]"
    if isinstance(value, dict):
        return "{}"
    if "\n" in value:
        raise NotEvaluated("yamlencode of a multi-line string (a literal block) is not evaluated")
    if indent is None and (
        len(value.encode("utf-8", "surrogatepass")) > 128 or any(c in value for c in "\r\x85\u2028\u2029")
    ):
        raise NotEvaluated("yamlencode of a long or multi-line key (a complex key) is not evaluated")
    return _yaml_quoted(value, column, indent)


def _yaml_nested(value: PyValue) -> bool:
    return isinstance(value, (list, dict)) and bool(value)


def _yaml_block(value: PyValue, indent: int) -> list[str]:
    """The lines of a non-empty sequence or mapping whose first line starts at ``indent``."""
    lines: list[str] = []
    pad = " " * indent
    if isinstance(value, list):
        for item in value:
            if _yaml_nested(item):
                inner = _yaml_block(item, indent + 2)
                lines.append(pad + "- " + inner[0][indent + 2 :])
                lines.extend(inner[1:])
            else:
                lines.append(pad + "- " + _yaml_scalar(item, indent + 2, indent + 2))
        return lines
    for name in sorted(value):
        key = _yaml_scalar(name, indent, None)
        item = value[name]
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{key}:")
            lines.extend(_yaml_block(item, indent + 2))
        elif isinstance(item, list) and item:
            lines.append(f"{pad}{key}:")
            lines.extend(_yaml_block(item, indent))  # go-yaml writes a sequence in a mapping unindented
        else:
            lines.append(f"{pad}{key}: " + _yaml_scalar(item, indent + len(key) + 2, indent + 2))
    return lines


def yaml_encode(value: PyValue) -> str:
    """yamlencode: go-yaml's block style, keys sorted, every string double-quoted."""
    if _yaml_nested(value):
        return "\n".join(_yaml_block(value, 0)) + "\n"
    text = _yaml_scalar(value, 0, 2)
    plain = value is None or isinstance(value, (bool, int, float))
    return text + ("\n...\n" if plain else "\n")


class Unevaluated:
    """A decoded value this port does not reproduce."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL, _BINARY = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:binary"
_TIMESTAMP, _MAP, _SEQ = "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_YAML_WORDS: dict[str, tuple[str, PyValue]] = {
    **dict.fromkeys(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], (_BOOL, True)),
    **dict.fromkeys(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], (_BOOL, False)),
    **dict.fromkeys(["", "~", "null", "Null", "NULL"], (_NULL, None)),
}
_YAML_INFINITY = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"}
_YAML_INTEGER = regex.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_YAML_FLOAT = regex.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _yaml_resolve(tag: str, text: str, quoted: bool) -> PyValue:
    """go-cty-yaml's resolveScalar: YAML 1.1 words (yes, on, y), no sexagesimal numbers."""
    if tag not in ("", _STR, _BOOL, _INT, _FLOAT, _NULL, _TIMESTAMP, _BINARY):
        raise GoError(f"unsupported tag {tag!r}")
    hint = _yaml_hint(text)
    if hint and tag not in (_STR, _BINARY):
        if quoted:
            return text
        if text in _YAML_WORDS:
            return _YAML_WORDS[text][1]
        if text in _YAML_INFINITY:
            raise NotEvaluated("an infinite number")
        if tag == "" and text in (".nan", ".NaN", ".NAN"):
            raise GoError("floating point NaN is not supported")
        if hint == ".":
            number = parse_number(text)
            if number is not None:
                return number
        elif hint in "DS":
            if tag in ("", _TIMESTAMP) and (timestamp := _timestamp(text)) is not None:
                return timestamp
            if _YAML_INTEGER.fullmatch(text):
                tag = _INT
            elif _YAML_FLOAT.fullmatch(text):
                tag = _FLOAT
    if tag in (_STR, ""):
        return text
    if tag == _BINARY:
        import base64
        import binascii

        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise GoError("not valid base64") from None
        return text
    if tag == _BOOL:
        if _YAML_WORDS.get(text, ("", None))[0] != _BOOL:
            raise GoError(f"cannot parse {text!r} as a bool")
        return _YAML_WORDS[text][1]
    if tag in (_INT, _FLOAT):
        plain = text.replace("_", "")
        number = parse_number(plain)
        if number is not None:
            return number
        try:
            return (
                int(plain, 0) if regex.fullmatch(r"[-+]?0[xXoObB][0-9a-fA-F]+|[-+]?[1-9][0-9]*", plain) else _bad(text)
            )
        except ValueError:
            return _bad(text)
    if tag == _TIMESTAMP:
        raise GoError(f"cannot parse {text!r} as a timestamp")
    return None  # null


_TIMESTAMP_FORMS = regex.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?:[.,][0-9]+)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?)?"
)


def _timestamp(text: str) -> str | None:
    """A go-cty-yaml timestamp (time.Parse with its four layouts: date, date and time with T, t or
    a space, a zone only after T or t) as RFC 3339 text without the fraction; None if it is not one."""
    import calendar

    match = _TIMESTAMP_FORMS.fullmatch(text)
    if match is None or (match["sep"] == " " and match["zone"]) or (match["sep"] in ("T", "t") and not match["zone"]):
        return None
    year, month, day = int(match["y"]), int(match["mo"]), int(match["d"])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    if match["sep"] is None:
        return f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z"
    hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"])
    if hour > 23 or minute > 59 or second > 59:
        return None
    zone = match["zone"] or "Z"
    if zone != "Z" and (int(zone[1:3]) > 24 or int(zone[4:6]) > 60):
        return None
    if zone[1:] == "00:00":
        zone = "Z"
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{zone}"


def _bad(text: str) -> PyValue:
    raise GoError(f"cannot parse {text!r} as a number")


def _yaml_hint(text: str) -> str:
    if not text:
        return "N"
    first = text[0]
    if first in "+-":
        return "S"
    if first.isdigit() and first.isascii():
        return "D"
    if first in "yYnNtTfFoO~":
        return "M"
    if first == ".":
        return "."
    return ""


def yaml_decode(text: str, max_nodes: int) -> PyValue:
    """yamldecode, event by event like go-cty-yaml: one document, anchors resolved (an alias
    inside its own anchor is an error), merge keys, keys converted to strings; NotEvaluated past
    ``max_nodes`` values with every alias written out (the billion laughs)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        events = list(yaml.parse(text or "\n", Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise GoError(f"not valid YAML{f' at line {mark.line + 1}' if mark else ''}") from None
    except RecursionError:
        raise NotEvaluated("YAML nested too deeply") from None
    reader = _YamlEvents(events, max_nodes)
    return reader.document()


class _YamlEvents:
    def __init__(self, events: list[Any], max_nodes: int) -> None:
        self.events = events
        self.position = 0
        self.max_nodes = max_nodes
        self.count = 0
        self.anchors: dict[str, tuple[PyValue, int]] = {}
        self.pending: set[str] = set()

    def next(self) -> Any:
        if self.position >= len(self.events):
            raise GoError("unexpected end of YAML")
        event = self.events[self.position]
        self.position += 1
        return event

    def kind(self, event: Any) -> str:
        return type(event).__name__

    def document(self) -> PyValue:
        if self.kind(self.next()) != "StreamStartEvent" or self.kind(self.next()) != "DocumentStartEvent":
            raise GoError("missing start of document")
        value, _ = self.value(self.next(), 0)
        after = self.kind(self.next())
        if after == "DocumentStartEvent":
            raise GoError("only a single document is allowed")
        if after != "DocumentEndEvent" or self.kind(self.next()) != "StreamEndEvent":
            raise GoError("unexpected extra content after value")
        return value

    def grow(self, size: int) -> None:
        self.count += size
        if self.count > self.max_nodes:
            raise NotEvaluated(f"more than {self.max_nodes:,} values once aliases are expanded")

    def value(self, event: Any, depth: int) -> tuple[PyValue, int]:
        """(value, its size with aliases expanded)."""
        if depth > 500:
            raise NotEvaluated("YAML nested too deeply")
        kind = self.kind(event)
        if kind == "AliasEvent":
            if event.anchor in self.pending:
                raise GoError(f"cannot refer to anchor {event.anchor!r} from inside its own definition")
            if event.anchor not in self.anchors:
                raise GoError(f"reference to undefined anchor {event.anchor!r}")
            aliased, size = self.anchors[event.anchor]
            self.grow(size)
            return aliased, size
        anchor = getattr(event, "anchor", None)
        if anchor:
            self.pending.add(anchor)
        if kind == "ScalarEvent":
            quoted = event.style in ("'", '"')
            value: PyValue = _yaml_resolve(event.tag or "", event.value, quoted)
            size = 1
            self.grow(1)
        elif kind == "SequenceStartEvent":
            if event.tag not in (None, _SEQ):
                raise GoError(f"can't interpret sequence as {event.tag}")
            items, size = [], 1
            self.grow(1)
            while self.kind(following := self.next()) != "SequenceEndEvent":
                item, item_size = self.value(following, depth + 1)
                items.append(item)
                size += item_size
            value = items
        elif kind == "MappingStartEvent":
            value, size = self.mapping(event, depth)
        else:
            raise GoError("expecting a value")
        if anchor:
            self.pending.discard(anchor)
            self.anchors[anchor] = (value, size)
        return value, size

    def mapping(self, event: Any, depth: int) -> tuple[PyValue, int]:
        if event.tag not in (None, _MAP):
            raise GoError(f"can't interpret mapping as {event.tag}")
        items: dict[str, PyValue] = {}
        size = 1
        self.grow(1)
        while self.kind(key_event := self.next()) != "MappingEndEvent":
            if self.kind(key_event) == "ScalarEvent" and (
                key_event.tag == _MERGE or (key_event.tag is None and key_event.value == "<<")
            ):
                merged, merged_size = self.value(self.next(), depth + 1)
                sources = merged if isinstance(merged, list) else [merged]
                for source in sources:
                    if not isinstance(source, dict):
                        raise GoError("a merge key takes a mapping or a sequence of mappings")
                    items.update(source)
                size += merged_size
                continue
            if self.kind(key_event) != "ScalarEvent":
                raise GoError("only strings are allowed as mapping keys")
            key = _yaml_resolve(key_event.tag or "", key_event.value, key_event.style in ("'", '"'))
            if key is None:
                raise GoError("mapping key cannot be null")
            if isinstance(key, Unevaluated):
                raise NotEvaluated(key.reason)
            name = (
                key
                if isinstance(key, str)
                else "true"
                if key is True
                else "false"
                if key is False
                else number_text(key)
            )
            item, item_size = self.value(self.next(), depth + 1)
            items[name] = item
            size += item_size + 1
        return items, size
