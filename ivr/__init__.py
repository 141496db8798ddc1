"""The IVR callers hear: a FastAGI language menu beside Asterisk (issue 12).

    server = IvrServer(recogniser(locator), host="127.0.0.1", port=4573)
    await server.serve()                      # owned task; binds again while the port is taken
    server.notes.learnt(call_id)              # what the menu set on a call, for the pop

`ivr.protocol` is the sans-IO AGI parser/encoder, `ivr.menu` the sans-IO menu (reply in, next
command out), `ivr.prompts` the prompt names and their generation (espeak-ng + sox).
"""

from ivr.menu import CallerFacts, Finished, LanguageMenu, Learnt
from ivr.notes import IvrNotes
from ivr.recognise import Recognise, nobody, recogniser
from ivr.server import IvrServer, SessionResult

__all__ = [
    "CallerFacts",
    "Finished",
    "IvrNotes",
    "IvrServer",
    "LanguageMenu",
    "Learnt",
    "Recognise",
    "SessionResult",
    "nobody",
    "recogniser",
]
