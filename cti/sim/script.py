"""The call script: a call's life turned into ordered event header lists, sans-IO.

The shapes and orders come from the recordings: `03-call-answered.ami` (answer),
`05-ring-no-answer.ami` (AgentRingNoAnswer), `09-abandon-while-ringing.ami` (abandon) for Local
channels (callers `Local/89000@inbound`, members `Local/seatNN@agents/n`), and
`13-pjsip-seat-call.ami` for SIP (caller `PJSIP/trunk-…`, member `PJSIP/seatNN`). Where the
model (queues, members) must speak in the middle of a phase, the phase takes those events as
an argument so the order stays the recording's.

This module gathers the pieces: the call and its ids (`cti.sim.call`), the first phases
(`cti.sim.arrival`: arrive, ring) and the last (`cti.sim.ending`: answer, complete, no answer,
abandon).
"""

from __future__ import annotations

from cti.sim.arrival import caller_arrives, pjsip_ringing, ring
from cti.sim.call import ENTRY, QUEUE_TIMEOUT, AgentLeg, CallScript, Ids
from cti.sim.ending import abandon, answer, complete, ring_no_answer

__all__ = [
    "ENTRY",
    "QUEUE_TIMEOUT",
    "AgentLeg",
    "CallScript",
    "Ids",
    "abandon",
    "answer",
    "caller_arrives",
    "complete",
    "pjsip_ringing",
    "ring",
    "ring_no_answer",
]
