"""Resident registry and caller-ID matching: the public face of `locator`.

    locator = await Locator.open(engine, settings.locator)   # builds the in-memory index
    match = locator.lookup("0535-668 3318")                  # synchronous, no I/O
    await locator.record_view([r.id for r in match.residents], viewer="agent07", call_id=uid)

Health notes are not on a `ResidentCard`: `await locator.health_notes(id, viewer, call_id)`
reads them and writes the audit row. `mask_number()` before logging any number. Keep the index
fresh across processes by running `locator.watch()` as an owned background task; a save in this
process (`save_residents`, `cti registry import`) refreshes open Locators itself.

Loading data: `parse_file(path, settings.locator)` → `ParseResult(records, problems)`, then
`await save_residents(engine, records)`; `generate_residents(count, seed)` for synthetic ones.
"""

from locator.audit import View, views_of
from locator.callerid import CallerId, CallerKind, mask_number, normalize_caller_id
from locator.cards import Flag, KinCard, Match, ResidentCard
from locator.generate import generate_residents, write_registry
from locator.importer import ImportFileError, ParseResult, Problem, parse_file
from locator.records import KinRecord, ResidentRecord
from locator.service import Locator
from locator.store import SaveResult, registry_version, save_residents

__all__ = [
    "CallerId",
    "CallerKind",
    "Flag",
    "ImportFileError",
    "KinCard",
    "KinRecord",
    "Locator",
    "Match",
    "ParseResult",
    "Problem",
    "ResidentCard",
    "ResidentRecord",
    "SaveResult",
    "View",
    "generate_residents",
    "mask_number",
    "normalize_caller_id",
    "parse_file",
    "registry_version",
    "save_residents",
    "views_of",
    "write_registry",
]
