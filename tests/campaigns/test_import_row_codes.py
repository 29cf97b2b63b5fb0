"""Every code a contact import can record for a refused row is in the one error catalogue: the
importer's source is walked for the codes it raises, and the console's report reads each fix."""

import ast
import re
from pathlib import Path

import campaigns.imports
from campaigns.imports.report import row_fix
from workspaces.errors import CATALOGUE, RETRY_AFTER_FIX, spec
from workspaces.errors.entries import ENTRIES

PACKAGE = Path(campaigns.imports.__file__).parent


def _code_of(call: ast.Call):
    """The code argument of `_Refused(code, value)` or `report.refuse(row, value, code)`."""
    name = getattr(call.func, "id", None) or getattr(call.func, "attr", "")
    if name == "_Refused":
        return call.args[0]
    if name == "refuse":
        given = call.args[2:] + [k.value for k in call.keywords if k.arg == "code"]
        return given[0] if given else None
    return None


def raised_codes() -> set[str]:
    """The codes the importer's modules raise as `_Refused(code, value)` or pass to `refuse`;
    a code that is neither a string literal nor a caught `_Refused`'s fails the walk."""
    found = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            code = _code_of(node) if isinstance(node, ast.Call) else None
            if code is None or (isinstance(code, ast.Attribute) and code.attr == "code"):
                continue  # not a refusal, or passing on a caught _Refused's code (walked)
            assert isinstance(code, ast.Constant), f"{path.name}:{node.lineno}: code not literal"
            found.add(code.value)
    return found


def documented_codes() -> set[str]:
    """The codes the package's docstring lists for the report."""
    return set(re.findall(r"^    ([a-z_]+) {2,}", campaigns.imports.__doc__, re.M))


def test_every_row_code_the_importer_raises_is_in_the_catalogue():
    raised = raised_codes()
    assert raised == documented_codes() and len(raised) == 9  # the walk found them all
    for code in raised:
        entry = spec(code)  # KeyError for a code the catalogue does not know
        assert entry.fix and entry.message and entry.when
        assert entry.retry == RETRY_AFTER_FIX
        assert row_fix(code) == entry.fix  # the console's report shows the catalogue's fix


def test_row_codes_are_recorded_never_answered_but_the_shared_invalid_number():
    for code in raised_codes() - {"invalid_number"}:
        assert spec(code).http_status is None and spec(code).recorded_on == "import report"
    assert spec("invalid_number").http_status == 400  # the API's entry serves both


def test_no_code_is_in_the_catalogue_twice():
    """One entry per code: a second would silently replace the first in CATALOGUE."""
    assert len(ENTRIES) == len(CATALOGUE)
